// Package cron parses the five-field cron expressions of ActiveMQ's
// scheduler (the AMQ_SCHEDULED_CRON message property) and computes when
// they next fire. It owns the grammar, the normal form jobs are stored in,
// and the search for the next time; it imports nothing from the broker.
//
// # Grammar
//
//	expression = field ws field ws field ws field ws field
//	field      = "*" | "?" | ( "*" | "?" | range ) "/" step | item { "," item }
//	item       = number | range
//	range      = number "-" number
//
// The fields are minute (0-59), hour (0-23), day-of-month (1-31), month
// (1-12) and day-of-week (0-6, 0 is Sunday), separated by spaces, tabs,
// CR, LF or FF. Numbers are ASCII decimal digits; leading zeros are allowed.
// "?" means the same as "*". A step keeps the values of its range that are
// multiples of the step, as ActiveMQ does: */15 in the minute field is 0,
// 15, 30 and 45, and 20-59/20 is 20 and 40; the range must start at a
// multiple of the step (see below). Names (JAN, MON), L, W and # are not
// supported, by ActiveMQ either. Parse rejects expressions longer than
// MaxLen bytes.
//
// # Matching
//
// A time matches when its minute, hour, month and day match. When neither
// day field is restricted every day matches; when one is, the day must
// match that one. A field is restricted when it leaves out some of its
// values (so 1-31 and 0-6 are not).
//
// Next searches the wall clock of the location of the time it is given.
// ActiveMQ uses the JVM's default time zone; the broker passes times in its
// own. Wall-clock times skipped when the clocks go forward never match (as
// in ActiveMQ, "30 2 * * *" does not fire that night). Wall-clock times
// repeated when the clocks go back match twice if the hour field is *, so
// that "*/20 * * * *" keeps firing every 20 minutes, and only the first
// time otherwise, so that "30 2 * * *" fires once. Next returns the zero
// Time for a schedule that never matches, such as 0 0 30 2 *.
//
// # Where Pier differs from ActiveMQ
//
// This follows ActiveMQ 5.x's org.apache.activemq.broker.scheduler.CronParser
// (validate, which the Java client runs on the property, and
// getNextScheduledTime). Parse accepts a subset of what ActiveMQ accepts;
// what it accepts means the same to both. It rejects, where ActiveMQ
// accepts:
//
//   - values that never match: minute 60, hour 24, day-of-month 32 (ActiveMQ
//     takes them and fires at other times). Day-of-week 7 is rejected by
//     both.
//   - a restricted day-of-month together with a restricted day-of-week.
//     ActiveMQ's code means cron's rule (either day matches) but stops only
//     on a day that matches both, and its single pass then settles on
//     whichever it reaches first: "0 0 13 * 5" fires on every 13th,
//     Friday or not, from January 2024 on. Neither reading would be
//     ActiveMQ's, so Parse asks for * in one of them.
//   - a step whose range does not start at a multiple of the step:
//     1-59/2 (ActiveMQ 2,4,...,58; cron 1,3,...,59), and */n with n > 1 in
//     the day-of-month and month fields, which start at 1 (ActiveMQ's */2
//     days are the even ones, cron's the odd ones). Write 2-31/2 or a list.
//   - a/n (ActiveMQ: a alone if n divides a, else rejected; Quartz: a to
//     the end), a step inside a list (ActiveMQ: 0,30/15 applies the step to
//     the whole list), steps of 0, negative or beyond the field's maximum.
//   - empty list items (1,,2), * or ? inside a list, a sign (+5) and
//     non-ASCII digits, which Java's parseInt reads.
//
// Next returns the first matching minute. Compared with ActiveMQ's
// getNextScheduledTime on random schedules accepted by both, ActiveMQ's
// single pass (minute, hour, day, month, day, hour, minute) differs in
// three ways: its times keep the milliseconds of the current time; when it
// moves to a later hour of the same day it keeps the current minute, so
// "* 4 * * *" asked at 20:33 fires first at 04:34, not 04:00 (ActiveMQ's
// own testgetNextTimeHours expects this); and a day-of-month the month
// lacks rolls into the next month ("0 0 31 * *" asked in June fires on
// 1 July, "0 0 29 2 *" on 1 March of a common year). When the clocks go back
// ActiveMQ's java.util.Calendar moves a time of the first pass to the same
// reading of the second, so its repeated hour is neither skipped nor run
// whole; Pier follows the rule above.
package cron
