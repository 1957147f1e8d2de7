import type { FormEvent } from "react";
import type { ProjectCreate, ProjectPublic } from "@/client";
import { Button } from "@/components/ui/button";
import { CheckboxField, TextField } from "@/components/ui/form";

function optionalInt(value: FormDataEntryValue | null): number | null {
  const text = String(value ?? "").trim();
  return text ? Number.parseInt(text, 10) : null;
}

export function ProjectForm({
  project,
  submitLabel,
  busy,
  siteWarning,
  onSubmit,
  onCancel,
}: {
  project?: ProjectPublic;
  submitLabel: string;
  busy: boolean;
  /** The API's `site_warning` for the site as saved: audits of it would be refused. */
  siteWarning?: string | null;
  onSubmit: (values: ProjectCreate) => void;
  onCancel: () => void;
}) {
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    onSubmit({
      name: String(form.get("name")).trim(),
      site_url: String(form.get("site_url")).trim(),
      max_crawl_pages: optionalInt(form.get("max_crawl_pages")),
      max_crawl_depth: optionalInt(form.get("max_crawl_depth")),
      render_enabled: form.get("render_enabled") === "on",
      weekly_audit_enabled: form.get("weekly_audit_enabled") === "on",
      include_subdomains: form.get("include_subdomains") === "on",
    });
  };
  return (
    <form onSubmit={submit} className="space-y-4">
      <TextField label="Name" name="name" required maxLength={255} defaultValue={project?.name} />
      <TextField
        label="Site URL"
        name="site_url"
        required
        placeholder="https://www.example.com"
        defaultValue={project?.site_url}
      />
      {siteWarning ? (
        <p role="alert" className="rounded-md bg-amber-50 p-3 text-sm text-amber-900 ring-1 ring-amber-200">
          {siteWarning}
        </p>
      ) : null}
      <div className="grid grid-cols-2 gap-3">
        <TextField
          label="Max pages"
          name="max_crawl_pages"
          type="number"
          min={1}
          max={100000}
          placeholder="Default"
          defaultValue={project?.max_crawl_pages ?? ""}
        />
        <TextField
          label="Max depth"
          name="max_crawl_depth"
          type="number"
          min={0}
          max={100}
          placeholder="Default"
          defaultValue={project?.max_crawl_depth ?? ""}
        />
      </div>
      <fieldset className="space-y-3">
        <legend className="sr-only">Audit settings</legend>
        <CheckboxField
          label="Render JavaScript"
          name="render_enabled"
          hint="Render script-built pages in a headless browser."
          defaultChecked={project?.render_enabled ?? true}
        />
        <CheckboxField
          label="Weekly audit"
          name="weekly_audit_enabled"
          hint="Audit the site every Sunday night."
          defaultChecked={project?.weekly_audit_enabled ?? false}
        />
        <CheckboxField
          label="Include subdomains"
          name="include_subdomains"
          defaultChecked={project?.include_subdomains ?? false}
        />
      </fieldset>
      <div className="flex justify-end gap-2 pt-2">
        <Button variant="secondary" onClick={onCancel}>
          Cancel
        </Button>
        <Button type="submit" loading={busy}>
          {submitLabel}
        </Button>
      </div>
    </form>
  );
}
