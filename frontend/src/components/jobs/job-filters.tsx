import type { JobStatus, JobType } from "@/client";
import { SelectField } from "@/components/ui/form";
import { humanize } from "@/lib/format";
import { JOB_STATUSES } from "@/lib/job-state";

export function JobFilters({
  status,
  jobType,
  jobTypes,
  onChange,
}: {
  status: JobStatus | "";
  jobType: JobType | "";
  jobTypes: readonly JobType[];
  onChange: (next: { status: JobStatus | ""; jobType: JobType | "" }) => void;
}) {
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
        options={[{ value: "", label: "All types" }, ...jobTypes.map((t) => ({ value: t, label: humanize(t) }))]}
        className="w-40"
      />
    </div>
  );
}
