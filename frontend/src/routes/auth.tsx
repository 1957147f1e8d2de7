import { useQueryClient } from "@tanstack/react-query";
import type { FormEvent, ReactNode } from "react";
import { useState } from "react";
import { Link, Navigate, useLocation, useNavigate } from "react-router";
import { Button } from "@/components/ui/button";
import { TextField } from "@/components/ui/form";
import { getToken } from "@/lib/api";
import { toastError } from "@/lib/toast";
import { logIn, signUp } from "@/queries/users";

function AuthCard({ title, subtitle, children }: { title: string; subtitle: ReactNode; children: ReactNode }) {
  return (
    <div className="flex min-h-full items-center justify-center bg-gradient-to-br from-brand-50 via-white to-slate-100 px-4 py-12">
      <div className="w-full max-w-sm">
        <div className="mb-8 flex flex-col items-center text-center">
          <img src="/favicon.svg" alt="" className="size-11" />
          <h1 className="mt-4 text-2xl font-semibold tracking-tight text-slate-900">{title}</h1>
          <p className="mt-1 text-sm text-slate-500">{subtitle}</p>
        </div>
        <div className="rounded-xl bg-white p-6 shadow-sm ring-1 ring-slate-200">{children}</div>
      </div>
    </div>
  );
}

function useAfterSignIn() {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const location = useLocation();
  const from = (location.state as { from?: string } | null)?.from ?? "/";
  return async () => {
    await queryClient.invalidateQueries();
    void navigate(from, { replace: true });
  };
}

export function LoginPage() {
  const [busy, setBusy] = useState(false);
  const afterSignIn = useAfterSignIn();
  if (getToken()) return <Navigate to="/" replace />;

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    try {
      await logIn(String(form.get("email")), String(form.get("password")));
      await afterSignIn();
    } catch (error) {
      toastError(error, "Could not log in");
    } finally {
      setBusy(false);
    }
  };

  return (
    <AuthCard
      title="Log in"
      subtitle={
        <>
          No account yet?{" "}
          <Link to="/signup" className="font-medium text-brand-600 hover:underline">
            Sign up
          </Link>
        </>
      }
    >
      <form onSubmit={submit} className="space-y-4">
        <TextField label="Email" name="email" type="email" autoComplete="email" required />
        <TextField label="Password" name="password" type="password" autoComplete="current-password" required />
        <Button type="submit" className="w-full" loading={busy}>
          Log in
        </Button>
      </form>
    </AuthCard>
  );
}

export function SignupPage() {
  const [busy, setBusy] = useState(false);
  const afterSignIn = useAfterSignIn();
  if (getToken()) return <Navigate to="/" replace />;

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    try {
      await signUp({
        email: String(form.get("email")),
        password: String(form.get("password")),
        full_name: String(form.get("full_name") || "") || null,
      });
      await afterSignIn();
    } catch (error) {
      toastError(error, "Could not sign up");
    } finally {
      setBusy(false);
    }
  };

  return (
    <AuthCard
      title="Create your account"
      subtitle={
        <>
          Already have one?{" "}
          <Link to="/login" className="font-medium text-brand-600 hover:underline">
            Log in
          </Link>
        </>
      }
    >
      <form onSubmit={submit} className="space-y-4">
        <TextField label="Full name" name="full_name" autoComplete="name" />
        <TextField label="Email" name="email" type="email" autoComplete="email" required />
        <TextField
          label="Password"
          name="password"
          type="password"
          autoComplete="new-password"
          minLength={8}
          required
          hint="At least 8 characters."
        />
        <Button type="submit" className="w-full" loading={busy}>
          Sign up
        </Button>
      </form>
    </AuthCard>
  );
}
