// Scheduled jobs: what each does and when, "Run now", and the reports of runs started here.
import { useState } from "preact/hooks";
import { useAction, useApp } from "../hooks.js";
import { useI18n } from "../i18n.js";
import { Button, ErrorMessage, Page, Section } from "../ui.jsx";

export const JOBS = [
  { name: "reassign", every: 1 },
  { name: "audit", every: 15 },
  { name: "rescore", every: 5 },
  { name: "train", every: 1440 },
];
const KEPT = "leadcrm.job-reports";

const remembered = () => JSON.parse(sessionStorage.getItem(KEPT) || "{}");

export function ReportTable({ report }) {
  const { t, fmt } = useI18n();
  const show = (value) => {
    if (value === null || value === undefined) return "—";
    if (typeof value === "boolean") return t(value ? "common.yes" : "common.no");
    if (typeof value === "number") return Number.isInteger(value) ? fmt.number(value) : fmt.decimal(value);
    if (Array.isArray(value)) return value.length ? value.map((item) => (typeof item === "object" ? Object.values(item).join(" · ") : item)).join("; ") : "—";
    return String(value);
  };
  return (
    <table class="table compact report">
      <tbody>
        {Object.entries(report).map(([field, value]) => (
          <tr key={field}>
            <th scope="row">{t.has(`report.${field}`) ? t(`report.${field}`) : field}</th>
            <td>{show(value)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function useJobRunner() {
  const { api, announce } = useApp();
  const { t } = useI18n();
  const [reports, setReports] = useState(remembered);
  const action = useAction();
  const [running, setRunning] = useState(null);
  const run = (name) =>
    action.run(async () => {
      setRunning(name);
      try {
        const report = await api.post(`/admin/jobs/${name}/run`);
        const next = { ...remembered(), [name]: { at: new Date().toISOString(), report } };
        sessionStorage.setItem(KEPT, JSON.stringify(next));
        setReports(next);
        announce(t("jobs.done_note", { job: t(`jobs.${name}.name`) }));
      } finally {
        setRunning(null);
      }
    });
  return { reports, run, running, action };
}

export function Jobs() {
  const { t, fmt } = useI18n();
  const runner = useJobRunner();
  return (
    <Page title={t("jobs.title")} subtitle={t("jobs.subtitle")}>
      <ErrorMessage error={runner.action.error} onDismiss={runner.action.clear} />
      <div class="cards cards-2">
        {JOBS.map((job) => {
          const last = runner.reports[job.name];
          return (
            <Section
              key={job.name}
              title={t(`jobs.${job.name}.name`)}
              actions={
                <Button kind="primary" busy={runner.running === job.name} disabled={Boolean(runner.running)} onClick={() => runner.run(job.name)} aria-label={t("jobs.run_which", { job: t(`jobs.${job.name}.name`) })}>
                  {t("jobs.run")}
                </Button>
              }
            >
              <p>{t(`jobs.${job.name}.what`)}</p>
              <p class="muted">{t("jobs.schedule", { every: fmt.seconds(job.every * 60) })}</p>
              {last ? (
                <>
                  <h3 class="subhead">{t("jobs.last", { time: fmt.dateTime(last.at) })}</h3>
                  <ReportTable report={last.report} />
                </>
              ) : (
                <p class="muted">{t("jobs.no_report")}</p>
              )}
            </Section>
          );
        })}
      </div>
    </Page>
  );
}
