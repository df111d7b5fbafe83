// Runs trial jobs on this machine: at most K child processes at once, the threads divided between them.
import { runTrial, type TrialJob, type TrialOutcome } from "./trial.ts";

export interface Runner {
  /** Runs a job; `onStart` hears where it runs and the checkpoint it continues from. */
  run(job: TrialJob, onStart: (info: { host?: string; resumedFrom: number | null }) => void): Promise<TrialOutcome>;
  close(): Promise<void>;
}

export class LocalRunner implements Runner {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly workers: number) {}

  async run(job: TrialJob, onStart: (info: { resumedFrom: number | null }) => void): Promise<TrialOutcome> {
    if (this.running >= this.workers) await new Promise<void>((r) => this.waiting.push(r));
    this.running++;
    try {
      return await runTrial(job, { onStart: (resumedFrom) => onStart({ resumedFrom }) });
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  async close(): Promise<void> {}
}
