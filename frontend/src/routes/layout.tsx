import { useQuery, useQueryClient } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { useState } from "react";
import { Navigate, NavLink, Outlet, useLocation, useNavigate } from "react-router";
import { Button } from "@/components/ui/button";
import { cn } from "@/components/ui/cn";
import { ErrorState, LoadingState } from "@/components/ui/states";
import { useCurrentUser } from "@/hooks/use-current-user";
import { getToken, setToken } from "@/lib/api";
import { userQueries } from "@/queries/users";
import { navItems } from "@/routes/registry";

export function RequireAuth({ children }: { children: ReactNode }) {
  const location = useLocation();
  const me = useQuery(userQueries.me());
  if (!getToken()) return <Navigate to="/login" replace state={{ from: location.pathname }} />;
  if (me.isPending) return <LoadingState label="Signing you in…" />;
  if (me.error) return <ErrorState error={me.error} onRetry={() => void me.refetch()} />;
  return <>{children}</>;
}

function Logo() {
  return (
    <NavLink to="/" className="flex items-center gap-2 font-semibold text-slate-900">
      <img src="/favicon.svg" alt="" className="size-7" />
      <span>SEO Platform</span>
    </NavLink>
  );
}

function Navigation({ onNavigate }: { onNavigate?: () => void }) {
  const user = useCurrentUser();
  const { pathname } = useLocation();
  return (
    <nav aria-label="Main" className="flex flex-col gap-1">
      {navItems
        .filter((item) => !item.superuserOnly || user.is_superuser)
        .map((item) => (
          <NavLink
            key={item.to}
            to={item.to}
            end={item.to === "/"}
            onClick={onNavigate}
            className={({ isActive }) =>
              cn(
                "flex items-center gap-2.5 rounded-md px-3 py-2 text-sm font-medium",
                isActive || item.matches?.some((prefix) => pathname.startsWith(prefix)) ? "bg-brand-50 text-brand-700" : "text-slate-600 hover:bg-slate-100 hover:text-slate-900",
              )
            }
          >
            <span aria-hidden="true" className="size-4">{item.icon}</span>
            {item.label}
          </NavLink>
        ))}
    </nav>
  );
}

function UserBox() {
  const user = useCurrentUser();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const logOut = () => {
    setToken(null);
    queryClient.clear();
    void navigate("/login");
  };
  return (
    <div className="flex items-center justify-between gap-2 border-t border-slate-200 pt-4">
      <div className="min-w-0 text-sm">
        <p className="truncate font-medium text-slate-900" data-testid="current-user">
          {user.full_name || user.email}
        </p>
        <p className="truncate text-xs text-slate-500">
          {user.is_superuser ? "Administrator" : user.email}
        </p>
      </div>
      <Button variant="ghost" size="sm" onClick={logOut}>
        Log out
      </Button>
    </div>
  );
}

export function AppLayout() {
  const [menuOpen, setMenuOpen] = useState(false);
  // The sidebar is a column of the page, not a fixed overlay: it stretches with the longest
  // page (and shows so in full-page screenshots, where a fixed one ends with the first
  // screen), while its content sticks to the viewport as the page scrolls.
  return (
    <div className="min-h-full lg:flex">
      <aside
        aria-label="Sidebar"
        data-testid="sidebar"
        className="hidden w-60 shrink-0 border-r border-slate-200 bg-white lg:block"
      >
        <div className="sticky top-0 flex h-screen flex-col gap-6 px-4 py-5">
          <Logo />
          <div className="min-h-0 flex-1 overflow-y-auto">
            <Navigation />
          </div>
          <UserBox />
        </div>
      </aside>
      <div className="min-w-0 flex-1">
        <header className="sticky top-0 z-20 flex items-center justify-between border-b border-slate-200 bg-white/90 px-4 py-3 backdrop-blur lg:hidden">
          <Logo />
          <Button
            variant="ghost"
            size="sm"
            aria-expanded={menuOpen}
            aria-controls="mobile-menu"
            onClick={() => setMenuOpen((open) => !open)}
          >
            Menu
          </Button>
        </header>
        {menuOpen && (
          <div id="mobile-menu" className="space-y-4 border-b border-slate-200 bg-white px-4 py-4 lg:hidden">
            <Navigation onNavigate={() => setMenuOpen(false)} />
            <UserBox />
          </div>
        )}
        <main className="mx-auto max-w-7xl px-4 py-6 sm:px-6 lg:px-8 lg:py-8">
          <Outlet />
        </main>
      </div>
    </div>
  );
}
