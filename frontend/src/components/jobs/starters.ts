import type { JobPublic, JobType, ProjectPublic } from "@/client";
import { auditMutations } from "@/queries/audits";
import { jobMutations } from "@/queries/jobs";

/** A job people can start from a project's page. Each domain adds its own when its
 * start endpoint exists (audits now; Search Console, rankings, links, Ads later); a button
 * shows only while GET /jobs/types says its type can run. */
export type JobStarter = {
  key: string;
  label: string;
  jobType: JobType;
  primary?: boolean;
  superuserOnly?: boolean;
  openOnStart?: boolean;
  start: (project: ProjectPublic) => Promise<JobPublic>;
};

export const jobStarters: JobStarter[] = [
  {
    key: "audit",
    label: "Run audit",
    jobType: "audit",
    primary: true,
    start: (project) => auditMutations.start(project.id),
  },
];

/** Platform-wide jobs superusers start by hand from the operations page. */
export type MaintenanceStarter = { key: string; label: string; jobType: JobType; start: () => Promise<JobPublic> };

export const maintenanceStarters: MaintenanceStarter[] = [
  { key: "health-check", label: "Run health check", jobType: "maintenance", start: jobMutations.startHealthCheck },
  { key: "cleanup", label: "Run clean-up", jobType: "maintenance", start: jobMutations.startCleanup },
  { key: "optimize-db", label: "Optimize database", jobType: "optimize_db", start: jobMutations.startOptimizeDb },
];
