/**
 * The process a `qpipe run` is: its jobs live and die with it, so a reservation it holds is
 * taken back by the next ledger write once the process is gone (a SIGKILL, a closed terminal),
 * not held until the reservation expires.
 */
import { hostname } from 'node:os';

/** Who holds a run's reservations, and whether a holder is gone. */
export interface RunOwner {
  /** This process: `<host>/<pid>/<start time>`. */
  readonly id: string;
  /** Whether the process an id names has ended (only processes of this host can be told; others never are). */
  gone(id: string): boolean;
}

/** This process as a run owner. */
export function currentRunOwner(): RunOwner {
  const host = hostname();
  // The start time keeps a recycled pid from passing for the process that held the reservation.
  const started = Math.round(Date.now() - process.uptime() * 1000);
  return {
    id: `${host}/${process.pid}/${started}`,
    gone: (id) => {
      const [ownerHost, pid, ownerStarted] = id.split('/');
      if (ownerHost !== host || pid === undefined) return false;
      if (Number(pid) === process.pid) return ownerStarted !== String(started);
      try {
        process.kill(Number(pid), 0);
        return false;
      } catch (error) {
        return (error as NodeJS.ErrnoException).code === 'ESRCH';
      }
    },
  };
}
