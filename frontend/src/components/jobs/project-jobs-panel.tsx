import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import type { JobStatus, JobType, ProjectPublic } from "@/client";
import { Card, CardHeader } from "@/components/ui/card";
import { Pagination } from "@/components/ui/pagination";
import { EmptyState, QueryBoundary } from "@/components/ui/states";
import { useCurrentUser } from "@/hooks/use-current-user";
import { jobQueries } from "@/queries/jobs";
import { JobFilters } from "./job-filters";
import { JobStarters } from "./job-starters";
import { JobsTable } from "./jobs-table";

const PAGE_SIZE = 10;

export function ProjectJobsPanel({ project }: { project: ProjectPublic }) {
  const user = useCurrentUser();
  const [filters, setFilters] = useState<{ status: JobStatus | ""; jobType: JobType | "" }>({
    status: "",
    jobType: "",
  });
  const [offset, setOffset] = useState(0);
  const jobs = useQuery(
    jobQueries.project(project.id, {
      status: filters.status ? [filters.status] : undefined,
      jobType: filters.jobType ? [filters.jobType] : undefined,
      offset,
      limit: PAGE_SIZE,
    }),
  );
  const filtered = filters.status !== "" || filters.jobType !== "";
  return (
    <Card>
      <CardHeader
        title="Jobs"
        description="Everything running or run for this site, newest first."
        actions={<JobStarters project={project} user={user} />}
      />
      <div className="border-b border-slate-100 px-5 py-3">
        <JobFilters
          status={filters.status}
          jobType={filters.jobType}
          onChange={(next) => {
            setFilters(next);
            setOffset(0);
          }}
        />
      </div>
      <QueryBoundary
        query={jobs}
        isEmpty={(page) => page.count === 0}
        empty={
          <EmptyState
            title={filtered ? "No jobs match these filters" : "No jobs yet"}
            description={filtered ? "Try another status or type." : "Start an audit to see it here, live."}
          />
        }
      >
        {(page) => (
          <>
            <JobsTable jobs={page.data} />
            <Pagination offset={offset} limit={PAGE_SIZE} count={page.count} onChange={setOffset} />
          </>
        )}
      </QueryBoundary>
    </Card>
  );
}
