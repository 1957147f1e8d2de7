import type { ComponentType } from "react";
import type { ProjectPublic } from "@/client";

/** The panels of a project's page, in order. Each domain adds its panel when its API exists
 * (jobs, audits now; Search Console, rankings, backlinks, Ads later). */
export type ProjectSection = { key: string; Section: ComponentType<{ project: ProjectPublic }> };

export const projectSections: ProjectSection[] = [];
