// Package selector parses and evaluates JMS message selectors: the SQL-92
// subset of the JMS 1.1 specification (section 3.8.1) with the extensions
// and evaluation rules of ActiveMQ 5.17.
//
// # Grammar
//
// Keywords are matched without regard to case; identifiers are
// case-sensitive. From loosest to tightest binding:
//
//	selector   = [ "convert_string_expressions:" ] or
//	or         = and { OR and }
//	and        = not { AND not }
//	not        = NOT not | equality
//	equality   = comparison { ( "=" | "<>" ) comparison | IS [ NOT ] NULL }
//	comparison = additive { ( "<" | "<=" | ">" | ">=" ) additive
//	           | [ NOT ] LIKE string [ ESCAPE string ]
//	           | [ NOT ] BETWEEN additive AND additive
//	           | [ NOT ] IN "(" string { "," string } ")" }
//	additive   = multiply { ( "+" | "-" ) multiply }
//	multiply   = unary { ( "*" | "/" | "%" ) unary }
//	unary      = ( "+" | "-" ) unary | primary
//	primary    = literal | identifier | "(" or ")"
//	literal    = string | number | TRUE | FALSE | NULL
//
// Strings are in single quotes, a quote doubled inside. Numbers are decimal
// longs (an optional L suffix), hex (0x1F), octal (017) or doubles (1.5,
// 1., .5, 1e3, 2.5E-3); a decimal too big for a long is a double.
// Identifiers follow Java rules (letters, digits, '_' and '$', not starting
// with a digit) and may not be keywords (XPATH and XQUERY are reserved and
// rejected). "--" comments to the end of the line and "/* */" comments are
// skipped. The operand of IN must be an identifier. Where a condition is
// needed, an identifier stands for a boolean property.
//
// # Identifiers
//
// JMSDestination, JMSReplyTo (as "queue://name" or "topic://name"),
// JMSType, JMSDeliveryMode ('PERSISTENT' or 'NON_PERSISTENT'), JMSPriority,
// JMSMessageID, JMSTimestamp, JMSCorrelationID, JMSExpiration,
// JMSRedelivered, JMSXDeliveryCount (deliveries including this one),
// JMSXGroupID, JMSXGroupSeq and JMSXUserID (falling back to a JMSXUserID
// property) read message fields; an empty string field is NULL. Every other
// identifier names a property; a missing property is NULL. ActiveMQ's
// broker-internal identifiers (JMSXProducerTXID, JMSActiveMQBrokerInTime and
// the like) are not special here and name properties.
//
// # Evaluation
//
// Conditions have three values: TRUE, FALSE and unknown (NULL), combined by
// the SQL truth tables; a message matches only when the selector is TRUE.
// Integers and doubles compare numerically. Strings, booleans and Java
// chars compare with values of their own type (strings and booleans may also
// be ordered, as in ActiveMQ). A comparison with NULL is unknown; a
// comparison of values of unrelated types is FALSE, so <> is TRUE. LIKE on a
// non-string is FALSE; IN on a non-string is unknown. Arithmetic works on
// numbers only (anything else gives NULL): + - * keep longs as longs, / and
// % always give doubles, as in ActiveMQ. Doubles compare as
// java.lang.Double.compare does.
//
// Parse rejects what ActiveMQ rejects when parsing: NULL as an operand of =
// or <>, a literal other than a number or a condition as an operand of
// < <= > >= or BETWEEN, a boolean literal compared with another literal, and
// a non-condition where a condition is needed.
//
// LIKE's '_' matches one Unicode character and '%' any run of them, line
// breaks included; the ESCAPE character escapes only '%', '_' and itself.
// Patterns are compiled once by Parse, and Match does not allocate (except
// to format JMSDestination and JMSReplyTo).
//
// # Limits
//
// Parse rejects selectors longer than MaxLen bytes and nesting (parentheses
// and prefix operators) deeper than MaxDepth. Every error it returns is a
// *SyntaxError, which wraps ErrSyntax and carries the byte offset.
package selector
