import { queryOptions } from "@tanstack/react-query";
import {
  usersChangePassword,
  usersCreateApiToken,
  usersListApiTokens,
  usersLoginAccessToken,
  usersReadMe,
  usersRevokeApiToken,
  usersSignup,
} from "@/client";
import type { ApiTokenCreate, PasswordChange, UserCreate } from "@/client";
import { getToken, setToken, unwrap } from "@/lib/api";

export const userKeys = {
  me: ["users", "me"] as const,
  tokens: ["users", "me", "tokens"] as const,
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
  tokens: () =>
    queryOptions({
      queryKey: userKeys.tokens,
      queryFn: () => unwrap(usersListApiTokens()),
    }),
};

export const userMutations = {
  createToken: (body: ApiTokenCreate) => unwrap(usersCreateApiToken({ body })),
  revokeToken: (id: string) => unwrap(usersRevokeApiToken({ path: { token_id: id } })),
  /** Every older token stops working; this session continues with the new one. */
  changePassword: async (body: PasswordChange): Promise<void> => {
    const token = await unwrap(usersChangePassword({ body }));
    setToken(token.access_token);
  },
};

export async function logIn(email: string, password: string): Promise<void> {
  const token = await unwrap(usersLoginAccessToken({ body: { username: email, password } }));
  setToken(token.access_token);
}

export async function signUp(user: UserCreate): Promise<void> {
  await unwrap(usersSignup({ body: user }));
  await logIn(user.email, user.password);
}
