import { queryOptions } from "@tanstack/react-query";
import {
  projectsCreateProject,
  projectsDeleteProject,
  projectsListProjects,
  projectsReadProject,
  projectsUpdateProject,
} from "@/client";
import type { ProjectCreate, ProjectUpdate } from "@/client";
import { unwrap } from "@/lib/api";

export const projectKeys = {
  all: ["projects"] as const,
  list: (offset: number, limit: number) => ["projects", "list", { offset, limit }] as const,
  detail: (id: string) => ["projects", "detail", id] as const,
};

export const projectQueries = {
  list: (offset = 0, limit = 50) =>
    queryOptions({
      queryKey: projectKeys.list(offset, limit),
      queryFn: () => unwrap(projectsListProjects({ query: { offset, limit } })),
    }),
  detail: (id: string) =>
    queryOptions({
      queryKey: projectKeys.detail(id),
      queryFn: () => unwrap(projectsReadProject({ path: { project_id: id } })),
    }),
};

export const projectMutations = {
  create: (body: ProjectCreate) => unwrap(projectsCreateProject({ body })),
  update: (id: string, body: ProjectUpdate) =>
    unwrap(projectsUpdateProject({ path: { project_id: id }, body })),
  remove: (id: string) => unwrap(projectsDeleteProject({ path: { project_id: id } })),
};
