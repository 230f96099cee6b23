// The driver-side bugs of the catalogue (where: 'driver'), each a decorator around any
// PhoneDriver, so the same defect runs over chatsim.v1 and over XMPP against ejabberd.
import type { BugName, BugSet } from '../../server/bugs/BugCatalogue.ts';
import type { PhoneDriver } from '../drivers/PhoneDriver.ts';
import { AckBeforeRenderDriver } from './AckBeforeRenderDriver.ts';
import { IgnoreReadMarkersDriver } from './IgnoreReadMarkersDriver.ts';
import { ResumeWithoutReplayDriver } from './ResumeWithoutReplayDriver.ts';

const DECORATORS: ReadonlyArray<[BugName, (inner: PhoneDriver) => PhoneDriver]> = [
  ['ack-before-render', (inner) => new AckBeforeRenderDriver(inner)],
  ['ignore-read-markers', (inner) => new IgnoreReadMarkersDriver(inner)],
  ['resume-without-replay', (inner) => new ResumeWithoutReplayDriver(inner)],
];

/** `driver` with the driver bugs of `bugs` switched on (other names are ignored); the same driver when none is. */
export function withDriverBugs(driver: PhoneDriver, bugs: BugSet): PhoneDriver {
  return DECORATORS.reduce((d, [name, wrap]) => (bugs.has(name) ? wrap(d) : d), driver);
}
