import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "react-router";
import type { JobPublic } from "@/client";
import { Button } from "@/components/ui/button";
import { isActive } from "@/lib/job-state";
import { toastSuccess } from "@/lib/toast";
import { jobKeys, jobMutations } from "@/queries/jobs";

export function useJobMutations() {
  const queryClient = useQueryClient();
  const settle = () => queryClient.invalidateQueries({ queryKey: jobKeys.all });
  const cancel = useMutation({
    mutationFn: jobMutations.cancel,
    meta: { errorTitle: "Could not cancel the job" },
    onSuccess: (job) =>
      toastSuccess(job.status === "cancelled" ? "Job cancelled" : "Cancel requested", "It stops at its next checkpoint."),
    onSettled: settle,
  });
  const retry = useMutation({
    mutationFn: jobMutations.retry,
    meta: { errorTitle: "Could not retry the job" },
    onSuccess: () => toastSuccess("Job queued again"),
    onSettled: settle,
  });
  return { cancel, retry };
}

/** Cancel for active jobs; retry for failed or cancelled ones. */
export function JobActions({ job, navigateOnRetry = false }: { job: JobPublic; navigateOnRetry?: boolean }) {
  const { cancel, retry } = useJobMutations();
  const navigate = useNavigate();
  if (isActive(job.status)) {
    const requested = job.cancel_requested_at != null;
    return (
      <Button
        variant="danger"
        size="sm"
        loading={cancel.isPending}
        disabled={requested}
        onClick={() => cancel.mutate(job.id)}
        aria-label={`Cancel ${job.job_type} job`}
      >
        {requested ? "Cancelling…" : "Cancel"}
      </Button>
    );
  }
  if (job.status === "failed" || job.status === "cancelled") {
    return (
      <Button
        variant="secondary"
        size="sm"
        loading={retry.isPending}
        onClick={() =>
          retry.mutate(job.id, {
            onSuccess: (created) => {
              if (navigateOnRetry) void navigate(`/jobs/${created.id}`);
            },
          })
        }
        aria-label={`Retry ${job.job_type} job`}
      >
        Retry
      </Button>
    );
  }
  return null;
}
