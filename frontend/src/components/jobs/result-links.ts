import type { JobPublic } from "@/client";

/** Where a finished job's output can be seen, per job type. Domains add theirs. */
export const jobResultLinks: Partial<Record<string, (job: JobPublic) => { to: string; label: string } | null>> = {
  audit: (job) => {
    const auditId = job.result_json?.audit_id;
    return typeof auditId === "string" ? { to: `/audits/${auditId}`, label: "Open report" } : null;
  },
};
