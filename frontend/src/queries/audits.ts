import { keepPreviousData, queryOptions } from "@tanstack/react-query";
import {
  auditsDiffAudit,
  auditsListAudits,
  auditsListChecks,
  auditsListIssues,
  auditsListPages,
  auditsReadAudit,
  auditsStartAudit,
} from "@/client";
import type { AuditPagePublic, Severity } from "@/client";
import { client } from "@/client/client.gen";
import { getToken, unwrap, ApiError } from "@/lib/api";
import { isActive } from "@/lib/job-state";

export type PageFilters = { status?: string; issueCode?: string; urlContains?: string; offset?: number; limit?: number };
export type IssueFilters = { severity?: Severity; code?: string; urlsLimit?: number; urlsOffset?: number };

export const auditKeys = {
  all: ["audits"] as const,
  projectList: (projectId: string, offset: number, limit: number) => ["audits", "project", projectId, { offset, limit }] as const,
  summary: (id: string) => ["audits", "detail", id, "summary"] as const,
  pages: (id: string, filters: PageFilters) => ["audits", "detail", id, "pages", filters] as const,
  pageSample: (id: string, max: number) => ["audits", "detail", id, "page-sample", max] as const,
  issues: (id: string, filters: IssueFilters) => ["audits", "detail", id, "issues", filters] as const,
  diff: (id: string) => ["audits", "detail", id, "diff"] as const,
  checks: ["audits", "checks"] as const,
};

const PAGE_LIMIT_MAX = 500;
const FINISHED_AUDIT = new Set(["completed", "failed", "cancelled"]);

export const auditQueries = {
  project: (projectId: string, offset = 0, limit = 20) =>
    queryOptions({
      queryKey: auditKeys.projectList(projectId, offset, limit),
      queryFn: () => unwrap(auditsListAudits({ path: { project_id: projectId }, query: { offset, limit } })),
      placeholderData: keepPreviousData,
      // An audit in progress fills in its row (status, score) when it ends.
      refetchInterval: (query) =>
        query.state.data?.data.some((audit) => !FINISHED_AUDIT.has(audit.status ?? "")) ? 5000 : false,
    }),
  summary: (auditId: string) =>
    queryOptions({
      queryKey: auditKeys.summary(auditId),
      queryFn: () => unwrap(auditsReadAudit({ path: { audit_id: auditId } })),
      // While its job runs, the report fills in: refresh it now and then.
      refetchInterval: (query) => (isActive(query.state.data?.job_status ?? undefined) ? 5000 : false),
    }),
  pages: (auditId: string, filters: PageFilters) =>
    queryOptions({
      queryKey: auditKeys.pages(auditId, filters),
      queryFn: () =>
        unwrap(
          auditsListPages({
            path: { audit_id: auditId },
            query: {
              status: filters.status || undefined,
              issue_code: filters.issueCode || undefined,
              url_contains: filters.urlContains || undefined,
              offset: filters.offset ?? 0,
              limit: filters.limit ?? 25,
            },
          }),
        ),
      placeholderData: keepPreviousData,
    }),
  /** Up to `max` pages for the distribution charts (depth, response time). */
  pageSample: (auditId: string, max = 2000) =>
    queryOptions({
      queryKey: auditKeys.pageSample(auditId, max),
      queryFn: async () => {
        const pages: AuditPagePublic[] = [];
        let total = 0;
        for (let offset = 0; offset < max; offset += PAGE_LIMIT_MAX) {
          const page = await unwrap(
            auditsListPages({ path: { audit_id: auditId }, query: { offset, limit: Math.min(PAGE_LIMIT_MAX, max - offset) } }),
          );
          pages.push(...page.data);
          total = page.count;
          if (pages.length >= total) break;
        }
        return { pages, total };
      },
      staleTime: 60_000,
    }),
  issues: (auditId: string, filters: IssueFilters = {}) =>
    queryOptions({
      queryKey: auditKeys.issues(auditId, filters),
      queryFn: () =>
        unwrap(
          auditsListIssues({
            path: { audit_id: auditId },
            query: {
              severity: filters.severity,
              code: filters.code,
              urls_limit: filters.urlsLimit ?? 10,
              urls_offset: filters.urlsOffset ?? 0,
            },
          }),
        ),
      placeholderData: keepPreviousData,
    }),
  diff: (auditId: string) =>
    queryOptions({
      queryKey: auditKeys.diff(auditId),
      queryFn: () => unwrap(auditsDiffAudit({ path: { audit_id: auditId }, query: { urls_limit: 10 } })),
    }),
  checks: () =>
    queryOptions({
      queryKey: auditKeys.checks,
      queryFn: () => unwrap(auditsListChecks()),
      staleTime: Infinity,
    }),
};

export const auditMutations = {
  start: (projectId: string) => unwrap(auditsStartAudit({ path: { project_id: projectId } })),
};

/** Downloads a CSV export. The API wants the bearer token, which a plain link cannot send,
 * so the file is fetched and handed to the browser as a download. */
export async function downloadAuditCsv(auditId: string, kind: "pages" | "issues"): Promise<void> {
  const base = client.getConfig().baseUrl ?? "";
  const response = await fetch(`${base}/api/v1/audits/${auditId}/${kind}.csv`, {
    headers: { Authorization: `Bearer ${getToken() ?? ""}` },
  });
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as { detail?: unknown };
    throw new ApiError(response.status, body.detail);
  }
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = `audit-${auditId}-${kind}.csv`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
