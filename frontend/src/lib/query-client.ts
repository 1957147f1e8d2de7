import { MutationCache, QueryClient } from "@tanstack/react-query";
import { ApiError } from "./api";
import { toastError } from "./toast";

export function createQueryClient(): QueryClient {
  return new QueryClient({
    // Every failed mutation reaches people through the one toast helper.
    mutationCache: new MutationCache({
      onError: (error, _variables, _context, mutation) => {
        if (mutation.meta?.silent) return;
        toastError(error, (mutation.meta?.errorTitle as string | undefined) ?? "Action failed");
      },
    }),
    defaultOptions: {
      queries: {
        staleTime: 10_000,
        // 4xx answers do not get better by asking again.
        retry: (failures, error) =>
          !(error instanceof ApiError && error.status >= 400 && error.status < 500) && failures < 2,
      },
    },
  });
}
