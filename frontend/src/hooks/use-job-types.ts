import { useQuery } from "@tanstack/react-query";
import type { JobType, JobTypePublic } from "@/client";
import { humanize } from "@/lib/format";
import { jobQueries } from "@/queries/jobs";

export type JobTypes = {
  /** The types that can run: what filters list and start buttons offer. */
  startable: JobTypePublic[];
  isStartable: (jobType: JobType) => boolean;
  /** The API's label for a type (humanized name until the list has loaded). */
  label: (jobType: string) => string;
};

/** The job types as the API describes them (GET /jobs/types). */
export function useJobTypes(): JobTypes {
  const { data } = useQuery(jobQueries.types());
  const all = data?.data ?? [];
  const labels = new Map(all.map((type) => [type.job_type as string, type.label]));
  const startable = all.filter((type) => type.startable);
  return {
    startable,
    isStartable: (jobType) => startable.some((type) => type.job_type === jobType),
    label: (jobType) => labels.get(jobType) ?? humanize(jobType),
  };
}
