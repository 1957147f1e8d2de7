import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useNavigate } from "react-router";
import { ProjectForm } from "@/components/projects/project-form";
import { Button } from "@/components/ui/button";
import { Card } from "@/components/ui/card";
import { Dialog } from "@/components/ui/dialog";
import { PageHeader } from "@/components/ui/page-header";
import { Pagination } from "@/components/ui/pagination";
import { EmptyState, QueryBoundary } from "@/components/ui/states";
import { formatRelative } from "@/lib/format";
import { toastSuccess, toastWarning } from "@/lib/toast";
import { projectKeys, projectMutations, projectQueries } from "@/queries/projects";

const PAGE_SIZE = 24;

export function ProjectsPage() {
  const [offset, setOffset] = useState(0);
  const [creating, setCreating] = useState(false);
  const projects = useQuery(projectQueries.list(offset, PAGE_SIZE));
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const create = useMutation({
    mutationFn: projectMutations.create,
    meta: { errorTitle: "Could not create the project" },
    onSuccess: (project) => {
      setCreating(false);
      toastSuccess("Project created", project.site_url);
      if (project.site_warning) {
        toastWarning("Audits of this site will be refused", project.site_warning);
      }
      void navigate(`/projects/${project.id}`);
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: projectKeys.all }),
  });

  const newButton = <Button onClick={() => setCreating(true)}>New project</Button>;
  return (
    <>
      <PageHeader title="Projects" subtitle="One project per website you look after." actions={newButton} />
      <QueryBoundary
        query={projects}
        isEmpty={(page) => page.count === 0}
        empty={
          <Card>
            <EmptyState
              title="No projects yet"
              description="Create a project for a website to audit it and follow its jobs."
              action={newButton}
            />
          </Card>
        }
      >
        {(page) => (
          <>
            <ul className="grid gap-4 sm:grid-cols-2 xl:grid-cols-3" aria-label="Projects">
              {page.data.map((project) => (
                <li key={project.id}>
                  <Link
                    to={`/projects/${project.id}`}
                    className="group block h-full rounded-xl bg-white p-5 shadow-sm ring-1 ring-slate-200 transition hover:shadow-md hover:ring-brand-500/40 focus-visible:outline-2 focus-visible:outline-brand-600"
                  >
                    <p className="truncate font-semibold text-slate-900 group-hover:text-brand-700">{project.name}</p>
                    <p className="mt-1 truncate text-sm text-slate-500">{project.site_url}</p>
                    <p className="mt-4 text-xs text-slate-400">Updated {formatRelative(project.updated_at)}</p>
                  </Link>
                </li>
              ))}
            </ul>
            <Pagination offset={offset} limit={PAGE_SIZE} count={page.count} onChange={setOffset} />
          </>
        )}
      </QueryBoundary>
      <Dialog open={creating} onClose={() => setCreating(false)} title="New project">
        <ProjectForm
          submitLabel="Create project"
          busy={create.isPending}
          onSubmit={(values) => create.mutate(values)}
          onCancel={() => setCreating(false)}
        />
      </Dialog>
    </>
  );
}
