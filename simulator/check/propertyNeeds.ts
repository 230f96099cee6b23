// What each property needs a phone driver to carry before the history can show it
// (simulator/drivers/DriverCapabilities.ts). A run whose driver lacks one gets `unknown` with
// the reason for that property, not a failure: a protocol without read markers cannot break
// the read-receipt properties, nor prove them.
import type { DriverCapability } from '../drivers/DriverCapabilities.ts';

/** Property id -> capabilities it needs. Absent: judged whatever the driver (the ticks family is wired; others may follow). */
export const PROPERTY_NEEDS: Readonly<Record<string, readonly DriverCapability[]>> = Object.freeze({
  // Ticks: a sent tick needs only the server's answer; delivered and read ticks need receipts.
  B3: ['receipts'],
  B4: ['receipts'],
  B5: ['receipts'],
  B6: ['readMarkers'],
  B7: ['readMarkers', 'typing'],
  B8: ['receipts'],
});
