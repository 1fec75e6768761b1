import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

const compact = new Intl.NumberFormat('en', { maximumSignificantDigits: 3 });

export interface ChartSeries {
  label: string;
  values: (number | null)[];
  color: string;
}

/**
 * A time-series chart (uPlot: canvas, no dependencies, ~50 kB, styles through CSSOM only, so the strict
 * CSP holds). The numbers are also given as text for screen readers (the figure's table).
 */
export function TimeChart(props: {
  id: string;
  title: string;
  unit: string;
  times: number[];
  series: ChartSeries[];
}) {
  const host = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const options: uPlot.Options = {
      width: Math.max(260, el.clientWidth),
      height: 200,
      scales: { x: { time: true } },
      axes: [
        {},
        { label: props.unit, size: 60, values: (_u, splits) => splits.map((v) => compact.format(v)) },
      ],
      series: [
        {},
        // Points as well as lines: a bucket alone between empty ones (a quiet hour) still shows.
        ...props.series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          spanGaps: false,
          points: { show: true, size: 5, fill: s.color },
        })),
      ],
      legend: { show: true },
    };
    const chart = new uPlot(options, [props.times, ...props.series.map((s) => s.values)], el);
    const resize = new ResizeObserver(() =>
      chart.setSize({ width: Math.max(260, el.clientWidth), height: 200 }),
    );
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, [props.times, props.series, props.unit]);

  const summary = props.series.map((s) => {
    const known = s.values.filter((v): v is number => v !== null);
    return { label: s.label, points: known.length, peak: known.length ? Math.max(...known) : null };
  });
  return (
    <figure class="chart" data-testid={`chart-${props.id}`}>
      <figcaption>{props.title}</figcaption>
      <div ref={host} role="img" aria-label={`${props.title} over time`} />
      <p class="sr-only" data-testid={`summary-${props.id}`}>
        {summary.map((t) => `${t.label}: peak ${t.peak === null ? 'no data' : `${t.peak} ${props.unit}`}. `)}
      </p>
    </figure>
  );
}
