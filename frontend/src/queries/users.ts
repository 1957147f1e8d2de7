import { queryOptions } from "@tanstack/react-query";
import { usersLoginAccessToken, usersReadMe, usersSignup } from "@/client";
import type { UserCreate } from "@/client";
import { getToken, setToken, unwrap } from "@/lib/api";

export const userKeys = {
  me: ["users", "me"] as const,
};

export const userQueries = {
  me: () =>
    queryOptions({
      queryKey: userKeys.me,
      queryFn: () => unwrap(usersReadMe()),
      enabled: Boolean(getToken()),
      staleTime: 5 * 60_000,
      retry: false,
    }),
};

export async function logIn(email: string, password: string): Promise<void> {
  const token = await unwrap(usersLoginAccessToken({ body: { username: email, password } }));
  setToken(token.access_token);
}

export async function signUp(user: UserCreate): Promise<void> {
  await unwrap(usersSignup({ body: user }));
  await logIn(user.email, user.password);
}
