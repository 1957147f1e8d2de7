import { useId, type ChangeEvent } from "react";
import { cn } from "@/components/ui/cn";
import { parseCredentials } from "./credentials";

/** The credentials JSON: pasted into the text area or read from an uploaded key file. It is
 * sent once, on save, and never shown again (the API keeps it encrypted). */
export function CredentialsField({ value, onChange }: { value: string; onChange: (text: string) => void }) {
  const id = useId();
  const parsed = value.trim() ? parseCredentials(value) : null;
  const onFile = async (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    if (file) onChange(await file.text());
    event.target.value = "";
  };
  return (
    <div>
      <div className="flex items-baseline justify-between gap-3">
        <label htmlFor={id} className="block text-sm font-medium text-slate-700">
          Credentials (JSON)
        </label>
        <label className="cursor-pointer text-xs font-medium text-brand-700 hover:underline">
          Upload key file
          <input type="file" accept=".json,application/json" className="sr-only" onChange={(event) => void onFile(event)} aria-label="Upload key file" />
        </label>
      </div>
      <textarea
        id={id}
        value={value}
        onChange={(event) => onChange(event.target.value)}
        rows={5}
        spellCheck={false}
        autoComplete="off"
        aria-describedby={`${id}-hint`}
        aria-invalid={parsed !== null && !parsed.ok}
        placeholder='{"type": "service_account", "client_email": "…", "private_key": "…"} or {"client_id", "client_secret", "refresh_token"}'
        className={cn(
          "mt-1.5 block w-full rounded-md border-0 bg-white px-3 py-2 font-mono text-xs text-slate-900 shadow-sm ring-1 ring-inset placeholder:text-slate-400 focus:ring-2 focus:ring-inset focus:ring-brand-600",
          parsed && !parsed.ok ? "ring-red-300" : "ring-slate-300",
        )}
      />
      <p id={`${id}-hint`} className={cn("mt-1 text-xs", parsed && !parsed.ok ? "text-red-600" : "text-slate-500")}>
        {parsed === null
          ? "A service-account key file, or an OAuth client with a refresh token. Stored encrypted, never shown again."
          : parsed.ok
            ? `${parsed.kind === "service_account" ? "Service account" : "OAuth"}: ${parsed.account}`
            : parsed.error}
      </p>
    </div>
  );
}
