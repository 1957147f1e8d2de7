import { createBrowserRouter } from "react-router";
import { AppLayout, RequireAuth } from "@/routes/layout";
import { LoginPage, SignupPage } from "@/routes/auth";
import { ProjectsPage } from "@/routes/projects";
import { ProjectPage } from "@/routes/project";
import { NotFoundPage } from "@/routes/not-found";
import { extraRoutes } from "@/routes/registry";

export const router = createBrowserRouter([
  { path: "/login", element: <LoginPage /> },
  { path: "/signup", element: <SignupPage /> },
  {
    element: (
      <RequireAuth>
        <AppLayout />
      </RequireAuth>
    ),
    children: [
      { index: true, element: <ProjectsPage /> },
      { path: "projects/:projectId", element: <ProjectPage /> },
      ...extraRoutes,
      { path: "*", element: <NotFoundPage /> },
    ],
  },
]);
