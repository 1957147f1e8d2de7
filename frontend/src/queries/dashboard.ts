import { queryOptions } from "@tanstack/react-query";
import { dashboardReadDashboardConfig } from "@/client";
import { unwrap } from "@/lib/api";

export const dashboardQueries = {
  /** The deployment's settings for the dashboard; they change only with a redeploy. */
  config: () =>
    queryOptions({
      queryKey: ["dashboard", "config"] as const,
      queryFn: () => unwrap(dashboardReadDashboardConfig()),
      staleTime: Infinity,
    }),
};
