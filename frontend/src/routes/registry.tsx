import { lazy, Suspense, type ComponentType, type ReactNode } from "react";
import type { RouteObject } from "react-router";
import { LoadingState } from "@/components/ui/states";

/** Main navigation. Each domain's views add their entry here when their API exists. */
export type NavItem = {
  to: string;
  label: string;
  icon: ReactNode;
  superuserOnly?: boolean;
  /** Other path prefixes under this entry (a project's jobs and audits are "Projects"). */
  matches?: string[];
};

const icon = (d: string) => (
  <svg viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round">
    <path d={d} />
  </svg>
);

export const navItems: NavItem[] = [
  {
    to: "/",
    label: "Projects",
    matches: ["/projects/", "/jobs/", "/audits/"],
    icon: icon("M3 7l9-4 9 4-9 4-9-4zm0 5l9 4 9-4M3 17l9 4 9-4"),
  },
  { to: "/operations", label: "Operations", superuserOnly: true, icon: icon("M4 19V9m6 10V5m6 14v-7m4 7H2") },
  { to: "/account", label: "Account", icon: icon("M15 7a3 3 0 11-6 0 3 3 0 016 0zM5 21a7 7 0 0114 0") },
];

/** Loads a page's code when it is first visited (charts are heavy). */
function page(load: () => Promise<{ default: ComponentType }>): ReactNode {
  const Page = lazy(load);
  return (
    <Suspense fallback={<LoadingState />}>
      <Page />
    </Suspense>
  );
}

/** Routes inside the signed-in layout beyond the projects list and a project's page. */
export const extraRoutes: RouteObject[] = [
  { path: "jobs/:jobId", element: page(() => import("@/routes/job").then((m) => ({ default: m.JobPage }))) },
  { path: "audits/:auditId", element: page(() => import("@/routes/audit").then((m) => ({ default: m.AuditPage }))) },
  {
    path: "operations",
    element: page(() => import("@/routes/operations").then((m) => ({ default: m.OperationsPage }))),
  },
  { path: "account", element: page(() => import("@/routes/account").then((m) => ({ default: m.AccountPage }))) },
];
