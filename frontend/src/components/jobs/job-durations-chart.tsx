import { useQuery } from "@tanstack/react-query";
import { Chart } from "@/components/charts/chart";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { QueryBoundary } from "@/components/ui/states";
import { useJobTypes } from "@/hooks/use-job-types";
import { durationBetween, formatDuration } from "@/lib/format";
import { jobQueries } from "@/queries/jobs";

/** How long the project's last finished jobs ran, oldest to newest. */
export function JobDurationsChart({ projectId }: { projectId: string }) {
  const jobs = useQuery(jobQueries.project(projectId, { status: ["completed"], limit: 30 }));
  const { label } = useJobTypes();
  return (
    <Card>
      <CardHeader title="Job durations" description="Run time of the last completed jobs." />
      <CardBody>
        <QueryBoundary query={jobs}>
          {(page) => (
            <Chart
              title="Run time of the last completed jobs"
              kind="bar"
              x="label"
              data={[...page.data].reverse().map((job) => ({
                label: new Date(job.finished_at ?? job.queued_at).toLocaleString("en", {
                  month: "short",
                  day: "numeric",
                  hour: "2-digit",
                  minute: "2-digit",
                }),
                type: label(job.job_type),
                seconds: Math.max(0, (durationBetween(job.started_at, job.finished_at) ?? 0) / 1000),
              }))}
              series={[{ key: "seconds", label: "Seconds" }]}
              formatY={(value) => formatDuration(value * 1000)}
              emptyText="No completed jobs yet"
              height={200}
            />
          )}
        </QueryBoundary>
      </CardBody>
    </Card>
  );
}
