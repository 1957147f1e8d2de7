import { useQuery } from "@tanstack/react-query";
import { config } from "@/lib/config";
import { dashboardQueries } from "@/queries/dashboard";

/** Flower's address as the deployment configures it (FLOWER_URL), read from the API; the
 * build-time default until the answer arrives or if the API cannot give it. */
export function useFlowerUrl(): string {
  const { data } = useQuery(dashboardQueries.config());
  return (data?.flower_url ?? config.flowerUrl).replace(/\/$/, "");
}
