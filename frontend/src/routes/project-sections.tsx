import { lazy, type ComponentType } from "react";
import type { ProjectPublic } from "@/client";
import { ProjectJobsPanel } from "@/components/jobs/project-jobs-panel";

/** The panels of a project's page, in order. Each domain adds its panel when its API exists
 * (jobs, audits, Search Console, Ads, rankings, backlinks). Chart panels load
 * lazily: the charting library is the heaviest part of the bundle. */
export type ProjectSection = { key: string; Section: ComponentType<{ project: ProjectPublic }> };

export const projectSections: ProjectSection[] = [
  { key: "jobs", Section: ProjectJobsPanel },
  {
    key: "audits",
    Section: lazy(() =>
      import("@/components/audits/project-audits-panel").then((m) => ({ default: m.ProjectAuditsPanel })),
    ),
  },
  {
    key: "search-console",
    Section: lazy(() => import("@/components/gsc/project-gsc-panel").then((m) => ({ default: m.ProjectGscPanel }))),
  },
  {
    key: "ads",
    Section: lazy(() => import("@/components/ads/project-ads-panel").then((m) => ({ default: m.ProjectAdsPanel }))),
  },
  {
    key: "backlinks",
    Section: lazy(() =>
      import("@/components/links/project-backlinks-panel").then((m) => ({ default: m.ProjectBacklinksPanel })),
    ),
  },
  {
    key: "rankings",
    Section: lazy(() =>
      import("@/components/serp/project-rankings-panel").then((m) => ({ default: m.ProjectRankingsPanel })),
    ),
  },
  {
    key: "job-durations",
    Section: lazy(() =>
      import("@/components/jobs/job-durations-chart").then((m) => ({
        default: ({ project }: { project: ProjectPublic }) => <m.JobDurationsChart projectId={project.id} />,
      })),
    ),
  },
];
