import { useQuery } from "@tanstack/react-query";
import type { UserPublic } from "@/client";
import { userQueries } from "@/queries/users";

/** The signed-in user, inside the signed-in layout (RequireAuth renders its children only
 * once the user is loaded). */
export function useCurrentUser(): UserPublic {
  const me = useQuery(userQueries.me());
  return me.data!;
}
