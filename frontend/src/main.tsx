import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { RouterProvider } from "react-router";
import { Toaster } from "sonner";
import { configureApiClient, setUnauthorizedHandler } from "@/lib/api";
import { createQueryClient } from "@/lib/query-client";
import { router } from "@/router";
import "./index.css";

configureApiClient();
const queryClient: QueryClient = createQueryClient();
setUnauthorizedHandler(() => {
  queryClient.clear();
  void router.navigate("/login");
});

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
      <Toaster richColors closeButton position="bottom-right" />
    </QueryClientProvider>
  </StrictMode>,
);
