import type { ConnectionPublic, ConnectionTestPublic } from "@/client";
import { client } from "@/client/client.gen";
import { unwrap } from "@/lib/api";

export type { ConnectionPublic, ConnectionTestPublic };
export type GoogleCredentials = Record<string, unknown>;

// Interim: the Search Console routes are not in the generated client yet (types follow the
// fixed REST contract); replaced by the generated SDK once the backend lands.
export async function call<T>(method: "GET" | "PUT" | "POST" | "DELETE", url: string, options: { query?: Record<string, unknown>; body?: unknown } = {}): Promise<T> {
  const query = Object.fromEntries(Object.entries(options.query ?? {}).filter(([, v]) => v !== undefined && v !== ""));
  return unwrap(
    client.request<T, unknown>({
      method,
      url,
      query,
      body: options.body,
      headers: options.body === undefined ? undefined : { "Content-Type": "application/json" },
      security: [{ scheme: "bearer", type: "http" }],
    }) as Promise<{ data?: T; error?: unknown; response?: Response }>,
  );
}

