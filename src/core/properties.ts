/**
 * A session's time-derived properties (resty.session's get_property): the seconds left before each
 * timeout, as of the moment the cookie was read. Shared by the Session and the fast check.
 */

import type { Settings } from "./settings";

/** The settings the time-derived properties read. */
export type TimingSettings = Pick<Settings, "idlingTimeout" | "rollingTimeout" | "absoluteTimeout">;

/** The cookie fields the timeouts count from, and the moment it was read. */
export interface SessionTiming {
  timestamp: number;
  creationTime: number;
  rollingOffset: number;
  idlingOffset: number;
}

/** "timeout", "idling_timeout", ... "creation_time", "timestamp"; undefined for other names. */
export function timingProperty(name: string, settings: TimingSettings, timing: SessionTiming): number | undefined {
  const sinceCreation = timing.timestamp - timing.creationTime;
  const sinceRoll = sinceCreation - timing.rollingOffset;
  const idling = settings.idlingTimeout > 0 ? settings.idlingTimeout - (sinceRoll - timing.idlingOffset) : undefined;
  const rolling = settings.rollingTimeout > 0 ? settings.rollingTimeout - sinceRoll : undefined;
  const absolute = settings.absoluteTimeout > 0 ? settings.absoluteTimeout - sinceCreation : undefined;
  switch (name) {
    case "timeout":
      return closestTimeout(settings, timing);
    case "idling-timeout":
    case "idling_timeout":
      return idling;
    case "rolling-timeout":
    case "rolling_timeout":
      return rolling;
    case "absolute-timeout":
    case "absolute_timeout":
      return absolute;
    case "creation-time":
    case "creation_time":
      return timing.creationTime;
    case "timestamp":
      return timing.timestamp;
  }
  return undefined;
}

/**
 * "timeout": the seconds left before the closest configured timeout; undefined when none is configured.
 * On its own because every published session needs it, and nothing else of timingProperty.
 */
export function closestTimeout(settings: TimingSettings, timing: SessionTiming): number | undefined {
  const sinceCreation = timing.timestamp - timing.creationTime;
  const sinceRoll = sinceCreation - timing.rollingOffset;
  let closest: number | undefined;
  if (settings.idlingTimeout > 0) closest = settings.idlingTimeout - (sinceRoll - timing.idlingOffset);
  if (settings.rollingTimeout > 0) {
    const rolling = settings.rollingTimeout - sinceRoll;
    if (closest === undefined || rolling < closest) closest = rolling;
  }
  if (settings.absoluteTimeout > 0) {
    const absolute = settings.absoluteTimeout - sinceCreation;
    if (closest === undefined || absolute < closest) closest = absolute;
  }
  return closest;
}
