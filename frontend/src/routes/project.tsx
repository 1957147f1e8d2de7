import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Suspense, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import type { ProjectPublic } from "@/client";
import { ProjectForm } from "@/components/projects/project-form";
import { Button } from "@/components/ui/button";
import { Dialog } from "@/components/ui/dialog";
import { PageHeader } from "@/components/ui/page-header";
import { LoadingState, QueryBoundary } from "@/components/ui/states";
import { toastSuccess, toastWarning } from "@/lib/toast";
import { projectKeys, projectMutations, projectQueries } from "@/queries/projects";
import { projectSections } from "@/routes/project-sections";

function ProjectActions({ project }: { project: ProjectPublic }) {
  const [editing, setEditing] = useState(false);
  const [siteWarning, setSiteWarning] = useState<string | null>(null);
  const [deleting, setDeleting] = useState(false);
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const update = useMutation({
    mutationFn: (values: Parameters<typeof projectMutations.update>[1]) =>
      projectMutations.update(project.id, values),
    meta: { errorTitle: "Could not save the project" },
    onSuccess: (saved) => {
      toastSuccess("Project saved");
      if (saved.site_warning) {
        // Saved, but audits would be refused: the form stays open and says why.
        setSiteWarning(saved.site_warning);
        toastWarning("Audits of this site will be refused", saved.site_warning);
      } else {
        setSiteWarning(null);
        setEditing(false);
      }
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: projectKeys.all }),
  });
  const remove = useMutation({
    mutationFn: () => projectMutations.remove(project.id),
    meta: { errorTitle: "Could not delete the project" },
    onSuccess: () => {
      toastSuccess("Project deleted", project.name);
      void navigate("/");
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: projectKeys.all }),
  });
  return (
    <>
      <Button variant="secondary" onClick={() => setEditing(true)}>
        Edit
      </Button>
      <Button variant="danger" onClick={() => setDeleting(true)}>
        Delete
      </Button>
      <Dialog
        open={editing}
        onClose={() => {
          setEditing(false);
          setSiteWarning(null);
        }}
        title="Edit project"
      >
        <ProjectForm
          project={project}
          submitLabel="Save"
          busy={update.isPending}
          siteWarning={siteWarning}
          onSubmit={(values) => update.mutate(values)}
          onCancel={() => {
            setEditing(false);
            setSiteWarning(null);
          }}
        />
      </Dialog>
      <Dialog open={deleting} onClose={() => setDeleting(false)} title="Delete this project?">
        <p className="text-sm text-slate-600">
          <strong>{project.name}</strong> and all its jobs and audits will be deleted. This cannot be undone.
        </p>
        <div className="mt-6 flex justify-end gap-2">
          <Button variant="secondary" onClick={() => setDeleting(false)}>
            Keep it
          </Button>
          <Button
            className="bg-red-600 text-white ring-0 hover:bg-red-700"
            loading={remove.isPending}
            onClick={() => remove.mutate()}
          >
            Delete project
          </Button>
        </div>
      </Dialog>
    </>
  );
}

export function ProjectPage() {
  const { projectId = "" } = useParams();
  const project = useQuery(projectQueries.detail(projectId));
  return (
    <QueryBoundary query={project}>
      {(p) => (
        <>
          <PageHeader
            breadcrumb={<Link to="/" className="hover:text-slate-700">Projects</Link>}
            title={p.name}
            subtitle={
              <a href={p.site_url} target="_blank" rel="noreferrer" className="hover:text-brand-700 hover:underline">
                {p.site_url}
              </a>
            }
            actions={<ProjectActions project={p} />}
          />
          <div className="space-y-6">
            {projectSections.map(({ key, Section }) => (
              <Suspense key={key} fallback={<LoadingState />}>
                <Section project={p} />
              </Suspense>
            ))}
          </div>
        </>
      )}
    </QueryBoundary>
  );
}
