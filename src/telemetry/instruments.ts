/** The metric instruments of tokenwire's calls, made once per meter. */
import type { Counter, Histogram, Meter } from '@opentelemetry/api';
import { METRIC, SECONDS_BUCKETS, TOKEN_BUCKETS } from './semconv.js';

/** The instruments every call records into (one set per meter). */
export interface Instruments {
  duration: Histogram;
  tokenUsage: Histogram;
  timeToFirstChunk: Histogram;
  timePerOutputChunk: Histogram;
  retries: Counter;
  resumes: Counter;
}

/** Creates the instruments on `meter`, with the conventions' units and advised buckets. */
export function makeInstruments(meter: Meter): Instruments {
  const seconds = (name: string, description: string): Histogram =>
    meter.createHistogram(name, {
      unit: 's',
      description,
      advice: { explicitBucketBoundaries: [...SECONDS_BUCKETS] },
    });
  return {
    duration: seconds(METRIC.duration, 'GenAI operation duration.'),
    tokenUsage: meter.createHistogram(METRIC.tokenUsage, {
      unit: '{token}',
      description: 'Number of input and output tokens used.',
      advice: { explicitBucketBoundaries: [...TOKEN_BUCKETS] },
    }),
    timeToFirstChunk: seconds(
      METRIC.timeToFirstChunk,
      'Time to receive the first chunk, from when the client issues the request.',
    ),
    timePerOutputChunk: seconds(
      METRIC.timePerOutputChunk,
      'Time per output chunk, recorded for each chunk after the first one.',
    ),
    retries: meter.createCounter(METRIC.retries, {
      unit: '{retry}',
      description: 'Attempts retried before any token arrived, by the error that ended the last one.',
    }),
    resumes: meter.createCounter(METRIC.resumes, {
      unit: '{resume}',
      description: 'Streams resumed by continuation after tokens had arrived, by the error that broke them.',
    }),
  };
}
