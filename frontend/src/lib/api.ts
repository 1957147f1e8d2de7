import { client } from "@/client/client.gen";

const TOKEN_KEY = "seo-platform.access-token";

export function getToken(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string | null): void {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

/** An API answer other than 2xx, with the server's `detail` made readable. */
export class ApiError extends Error {
  readonly status: number;
  readonly detail: unknown;

  constructor(status: number, detail: unknown) {
    super(describeDetail(status, detail));
    this.name = "ApiError";
    this.status = status;
    this.detail = detail;
  }
}

function describeDetail(status: number, detail: unknown): string {
  if (typeof detail === "string" && detail) return detail;
  // FastAPI validation errors: [{loc, msg}, ...]
  if (Array.isArray(detail)) {
    return detail
      .map((item: { loc?: unknown[]; msg?: string }) => {
        const field = item.loc?.filter((part) => part !== "body").join(".");
        return field ? `${field}: ${item.msg ?? "invalid"}` : (item.msg ?? "invalid");
      })
      .join("; ");
  }
  if (status === 0) return "The server could not be reached";
  return `Request failed (${status})`;
}

let onUnauthorized: () => void = () => {};

/** Called once at start-up: where to send people whose token expired. */
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

export function configureApiClient(baseUrl = ""): void {
  client.setConfig({ baseUrl, auth: () => getToken() ?? undefined });
}

type SdkResult<T> = { data?: T; error?: unknown; response?: Response };

/** Turns the generated SDK's `{data, error, response}` into data or a thrown ApiError. */
export async function unwrap<T>(call: Promise<SdkResult<T>>): Promise<T> {
  const { data, error, response } = await call;
  if (response?.ok) return data as T;
  const status = response?.status ?? 0;
  if (status === 401 && getToken()) {
    setToken(null);
    onUnauthorized();
  }
  const detail = (error as { detail?: unknown } | undefined)?.detail ?? error;
  throw new ApiError(status, detail);
}
