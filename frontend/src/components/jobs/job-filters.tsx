import type { JobStatus, JobType } from "@/client";
import { SelectField } from "@/components/ui/form";
import { useJobTypes } from "@/hooks/use-job-types";
import { humanize } from "@/lib/format";
import { JOB_STATUSES } from "@/lib/job-state";

/** The type choices of a jobs filter: only types that can run (from the API). */
export function useJobTypeOptions(): { value: string; label: string }[] {
  const { startable } = useJobTypes();
  return [{ value: "", label: "All types" }, ...startable.map((t) => ({ value: t.job_type, label: t.label }))];
}

export function JobFilters({
  status,
  jobType,
  onChange,
}: {
  status: JobStatus | "";
  jobType: JobType | "";
  onChange: (next: { status: JobStatus | ""; jobType: JobType | "" }) => void;
}) {
  const typeOptions = useJobTypeOptions();
  return (
    <div className="flex flex-wrap gap-3" role="group" aria-label="Filter jobs">
      <SelectField
        label="Status"
        value={status}
        onChange={(event) => onChange({ status: event.target.value as JobStatus | "", jobType })}
        options={[{ value: "", label: "All statuses" }, ...JOB_STATUSES.map((s) => ({ value: s, label: humanize(s) }))]}
        className="w-40"
      />
      <SelectField
        label="Type"
        value={jobType}
        onChange={(event) => onChange({ status, jobType: event.target.value as JobType | "" })}
        options={typeOptions}
        className="w-48"
      />
    </div>
  );
}
