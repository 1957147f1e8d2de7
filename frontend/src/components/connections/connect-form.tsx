import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent, type ReactNode } from "react";
import { Button } from "@/components/ui/button";
import type { ConnectionPublic, ConnectionTestPublic } from "@/client";

export type FormInput<Input> = { ok: true; input: Input } | { ok: false; error: string };

/** The test connection's answer: what was found or what to fix, and when the target is not
 * among what the credential can see, the targets it can (a click picks one). */
export function ConnectionTestResult({
  result,
  choicesLabel,
  onChoose,
}: {
  result: ConnectionTestPublic;
  choicesLabel: string;
  onChoose: (choice: string) => void;
}) {
  return (
    <div
      role="status"
      aria-label="Connection test"
      data-ok={result.ok}
      className={result.ok ? "rounded-md bg-emerald-50 p-3 text-sm text-emerald-800 ring-1 ring-emerald-200" : "rounded-md bg-red-50 p-3 text-sm text-red-800 ring-1 ring-red-200"}
    >
      <p className="font-medium">{result.ok ? "Connection works" : "Connection failed"}</p>
      <p className="mt-0.5">{result.detail}</p>
      {(result.choices ?? []).length > 0 && (
        <div className="mt-2">
          <p className="text-xs font-medium text-slate-600">{choicesLabel}</p>
          <ul className="mt-1 flex flex-wrap gap-1.5" aria-label={choicesLabel}>
            {(result.choices ?? []).map((choice) => (
              <li key={choice}>
                <Button size="sm" variant="secondary" onClick={() => onChoose(choice)}>
                  {choice}
                </Button>
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}

/**
 * A provider's connect form: the fields (children), "Test connection", and Save. Save is the
 * primary action once a test of exactly these values passed; before that it asks to confirm,
 * since a connection that does not work only fails later, in a job.
 */
export function ConnectForm<Input>({
  label,
  form,
  test,
  save,
  choicesLabel,
  onChoose,
  onSaved,
  children,
}: {
  label: string;
  form: FormInput<Input>;
  test: (input: Input) => Promise<ConnectionTestPublic>;
  save: (input: Input) => Promise<ConnectionPublic>;
  choicesLabel: string;
  onChoose: (choice: string) => void;
  onSaved: (connection: ConnectionPublic) => void;
  children: ReactNode;
}) {
  // A test result belongs to the values it tested: edit them and it no longer counts.
  const current = form.ok ? JSON.stringify(form.input) : null;
  const [tested, setTested] = useState<{ values: string; result: ConnectionTestPublic } | null>(null);
  const [confirming, setConfirming] = useState(false);
  const testMutation = useMutation({
    mutationFn: (input: Input) => test(input),
    meta: { silent: true },
    onSuccess: (result, input) => setTested({ values: JSON.stringify(input), result }),
    onError: () => setTested(null),
  });
  const saveMutation = useMutation({
    mutationFn: (input: Input) => save(input),
    meta: { errorTitle: "Could not save the connection" },
    onSuccess: onSaved,
  });
  const result = tested && tested.values === current ? tested.result : null;
  const passed = result?.ok === true;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!form.ok) return;
    if (!passed && !confirming) return setConfirming(true);
    saveMutation.mutate(form.input);
  };
  return (
    <form aria-label={label} className="space-y-4" onSubmit={submit} noValidate>
      {children}
      {!form.ok && form.error && (
        <p className="text-xs text-slate-500" data-testid="connect-form-missing">
          {form.error}
        </p>
      )}
      {testMutation.error && (
        <p role="alert" className="rounded-md bg-red-50 p-3 text-sm text-red-800 ring-1 ring-red-200">
          {testMutation.error.message}
        </p>
      )}
      {result && <ConnectionTestResult result={result} choicesLabel={choicesLabel} onChoose={onChoose} />}
      {confirming && !passed && (
        <p role="alert" className="rounded-md bg-amber-50 p-3 text-sm text-amber-900 ring-1 ring-amber-200">
          {result ? "The connection test failed." : "This connection has not been tested."} Syncs will fail until it works.
          Save it anyway?
        </p>
      )}
      {saveMutation.error && (
        <p role="alert" className="rounded-md bg-red-50 p-3 text-sm text-red-800 ring-1 ring-red-200">
          {saveMutation.error.message}
        </p>
      )}
      <div className="flex flex-wrap justify-end gap-2">
        <Button
          variant={passed ? "secondary" : "primary"}
          disabled={!form.ok}
          loading={testMutation.isPending}
          onClick={() => form.ok && testMutation.mutate(form.input)}
        >
          Test connection
        </Button>
        <Button type="submit" variant={passed ? "primary" : "secondary"} disabled={!form.ok} loading={saveMutation.isPending}>
          {confirming && !passed ? "Save anyway" : "Save"}
        </Button>
      </div>
    </form>
  );
}
