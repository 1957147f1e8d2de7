import type { ReactNode } from "react";
import type { RouteObject } from "react-router";

/** Main navigation. Each domain's views add their entry here when their API exists. */
export type NavItem = { to: string; label: string; icon: ReactNode; superuserOnly?: boolean };

const icon = (d: string) => (
  <svg viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round">
    <path d={d} />
  </svg>
);

export const navItems: NavItem[] = [
  { to: "/", label: "Projects", icon: icon("M3 7l9-4 9 4-9 4-9-4zm0 5l9 4 9-4M3 17l9 4 9-4") },
];

/** Routes inside the signed-in layout beyond projects (jobs, audits, operations...). */
export const extraRoutes: RouteObject[] = [];
