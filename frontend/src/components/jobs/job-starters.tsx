import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "react-router";
import type { JobPublic, ProjectPublic, UserPublic } from "@/client";
import { Button } from "@/components/ui/button";
import { useJobTypes } from "@/hooks/use-job-types";
import { toastSuccess } from "@/lib/toast";
import { auditKeys } from "@/queries/audits";
import { jobKeys } from "@/queries/jobs";
import { jobStarters, type JobStarter } from "./starters";

function StartButton({ starter, project }: { starter: JobStarter; project: ProjectPublic }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const start = useMutation({
    mutationFn: () => starter.start(project),
    meta: { errorTitle: `Could not start: ${starter.label}` },
    onSuccess: (job: JobPublic) => {
      toastSuccess(`${starter.label} started`, "Follow its progress in the jobs table.");
      if (starter.openOnStart) void navigate(`/jobs/${job.id}`);
    },
    onSettled: async () => {
      await queryClient.invalidateQueries({ queryKey: jobKeys.all });
      await queryClient.invalidateQueries({ queryKey: auditKeys.all });
    },
  });
  return (
    <Button
      variant={starter.primary ? "primary" : "secondary"}
      loading={start.isPending}
      onClick={() => start.mutate()}
      data-testid={`start-${starter.key}`}
    >
      {starter.label}
    </Button>
  );
}

/** One button per job type the API lets this user start for a project (a type shows once the
 * API says it can run). */
export function JobStarters({ project, user }: { project: ProjectPublic; user: UserPublic }) {
  const { isStartable } = useJobTypes();
  const available = jobStarters.filter(
    (starter) => isStartable(starter.jobType) && (!starter.superuserOnly || user.is_superuser),
  );
  if (available.length === 0) return null;
  return (
    <>
      {available.map((starter) => (
        <StartButton key={starter.key} starter={starter} project={project} />
      ))}
    </>
  );
}
