// Charts through Chart.js, tree-shaken to the bar chart: target vs actual shares.
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from "chart.js";
import { useEffect, useRef } from "preact/hooks";
import { useI18n } from "./i18n.js";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend);
Chart.defaults.font.family = "system-ui, -apple-system, \"Segoe UI\", Roboto, \"Noto Sans\", Arial, sans-serif";
Chart.defaults.color = "#334155";

// Horizontal bars, two per operator: the share its weight targets and the share it got.
export function ShareChart({ rows, label }) {
  const { t, fmt } = useI18n();
  const canvas = useRef(null);
  const chart = useRef(null);
  const key = JSON.stringify(rows) + fmt.lang;
  useEffect(() => {
    const data = {
      labels: rows.map((row) => row.name),
      datasets: [
        { label: t("dashboard.target"), data: rows.map((row) => row.target), backgroundColor: "#93c5fd", borderRadius: 3 },
        { label: t("dashboard.actual"), data: rows.map((row) => row.actual), backgroundColor: "#1d4ed8", borderRadius: 3 },
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
