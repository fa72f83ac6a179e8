// Charts through Chart.js, tree-shaken to bars and lines: target vs actual shares, hourly timelines.
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LineController,
  LineElement,
  LinearScale,
  PointElement,
  Tooltip,
} from "chart.js";
import { useEffect, useRef } from "preact/hooks";
import { useI18n } from "./i18n.js";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend, LineController, LineElement, PointElement);
Chart.defaults.font.family = "system-ui, -apple-system, \"Segoe UI\", Roboto, \"Noto Sans\", Arial, sans-serif";
Chart.defaults.color = "#334155";

// Horizontal bars, two per operator: the share its weight targets and the share it got.
// `names`: the two series' legend labels (default: target and actual).
export function ShareChart({ rows, label, names }) {
  const { t, fmt } = useI18n();
  const canvas = useRef(null);
  const chart = useRef(null);
  const key = JSON.stringify(rows) + fmt.lang + String(names);
  useEffect(() => {
    const data = {
      labels: rows.map((row) => row.name),
      datasets: [
        { label: names ? names[0] : t("dashboard.target"), data: rows.map((row) => row.target), backgroundColor: "#93c5fd", borderRadius: 3 },
        { label: names ? names[1] : t("dashboard.actual"), data: rows.map((row) => row.actual), backgroundColor: "#1d4ed8", borderRadius: 3 },
      ],
    };
    const options = {
      indexAxis: "y",
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      locale: fmt.lang,
      scales: {
        x: { min: 0, max: 1, ticks: { callback: (value) => fmt.percent(value) }, grid: { color: "#e2e8f0" } },
        y: { grid: { display: false } },
      },
      plugins: {
        legend: { position: "bottom", labels: { boxWidth: 12 } },
        tooltip: { callbacks: { label: (ctx) => `${ctx.dataset.label}: ${fmt.percentFine(ctx.raw)}` } },
      },
    };
    if (chart.current) {
      chart.current.data = data;
      chart.current.options = options;
      chart.current.update("none");
    } else {
      chart.current = new Chart(canvas.current, { type: "bar", data, options });
    }
  }, [key]);
  useEffect(() => () => chart.current && chart.current.destroy(), []);
  return (
    <div class="chart" style={{ height: `${Math.max(140, 56 * rows.length + 70)}px` }}>
      <canvas ref={canvas} role="img" aria-label={label} />
    </div>
  );
}

// A source's hours: arrivals and assigned as bars, the line's length as a line (left axis);
// the median wait in minutes as a dashed line on the right axis.
export function TimelineChart({ hours, label }) {
  const { t, fmt } = useI18n();
  const canvas = useRef(null);
  const chart = useRef(null);
  const key = JSON.stringify(hours) + fmt.lang;
  useEffect(() => {
    const days = new Set(hours.map((h) => h.hour.slice(0, 10))).size;
    const data = {
      labels: hours.map((h) => (days > 1 ? fmt.dateTime(h.hour) : fmt.time(h.hour))),
      datasets: [
        { type: "bar", label: t("timeline.arrivals"), data: hours.map((h) => h.arrivals), backgroundColor: "#93c5fd", yAxisID: "y", order: 2 },
        { type: "bar", label: t("timeline.assigned"), data: hours.map((h) => h.assigned), backgroundColor: "#1d4ed8", yAxisID: "y", order: 2 },
        {
          type: "line",
          label: t("timeline.waiting"),
          data: hours.map((h) => h.waiting),
          borderColor: "#b45309",
          backgroundColor: "#b45309",
          pointRadius: 0,
          borderWidth: 2,
          yAxisID: "y",
          order: 1,
        },
        {
          type: "line",
          label: t("timeline.median_wait"),
          data: hours.map((h) => (h.median_wait_seconds === null ? null : h.median_wait_seconds / 60)),
          borderColor: "#be123c",
          backgroundColor: "#be123c",
          borderDash: [5, 4],
          pointRadius: 0,
          borderWidth: 2,
          spanGaps: true,
          yAxisID: "y1",
          order: 0,
        },
      ],
    };
    const options = {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      locale: fmt.lang,
      interaction: { mode: "index", intersect: false },
      scales: {
        x: { ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 8 }, grid: { display: false } },
        y: { beginAtZero: true, title: { display: true, text: t("timeline.appeals_axis") }, ticks: { precision: 0 }, grid: { color: "#e2e8f0" } },
        y1: { beginAtZero: true, position: "right", title: { display: true, text: t("timeline.minutes_axis") }, grid: { display: false } },
      },
      plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
    };
    if (chart.current) {
      chart.current.data = data;
      chart.current.options = options;
      chart.current.update("none");
    } else {
      chart.current = new Chart(canvas.current, { type: "bar", data, options });
    }
  }, [key]);
  useEffect(() => () => chart.current && chart.current.destroy(), []);
  return (
    <div class="chart" style={{ height: "300px" }}>
      <canvas ref={canvas} role="img" aria-label={label} />
    </div>
  );
}
