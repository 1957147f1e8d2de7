import { toast } from "sonner";

/** The one way errors reach people: a toast with the server's message. */
export function toastError(error: unknown, title = "Something went wrong"): void {
  const message = error instanceof Error ? error.message : String(error);
  toast.error(title, { description: message });
}

export function toastSuccess(title: string, description?: string): void {
  toast.success(title, { description });
}

/** Saved, but something the person should act on (e.g. a site audits will refuse). */
export function toastWarning(title: string, description?: string): void {
  toast.warning(title, { description, duration: 15_000 });
}
