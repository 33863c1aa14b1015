package debezium

import "strings"

// HeartbeatTopicPrefix is Debezium's default topic.heartbeat.prefix; the
// heartbeat topic is <prefix>.<topic.prefix>, e.g. __debezium-heartbeat.shop.
const HeartbeatTopicPrefix = "__debezium-heartbeat"

// IsHeartbeatTopic reports whether topic is a heartbeat topic under the
// default prefix. (topic.heartbeat.name, Debezium 3.6+, can name it anything;
// the decoder recognises heartbeats by content too.)
func IsHeartbeatTopic(topic string) bool {
	return strings.HasPrefix(topic, HeartbeatTopicPrefix+".")
}

// IsTransactionTopic reports whether topic is a transaction metadata topic
// under the default topic.transaction name: <topic.prefix>.transaction.
func IsTransactionTopic(topic string) bool {
	return strings.HasSuffix(topic, ".transaction")
}

// IsMessageTopic reports whether topic is the logical decoding message topic
// <topic.prefix>.message.
func IsMessageTopic(topic string) bool {
	return strings.HasSuffix(topic, ".message")
}

// SplitTopic splits a data topic <prefix>.<schema>.<table> at its last two
// dots. The prefix may itself hold dots (cdc.ecommerce); ok is false when
// the topic has fewer than three non-empty parts.
func SplitTopic(topic string) (prefix, schema, table string, ok bool) {
	t := strings.LastIndexByte(topic, '.')
	if t <= 0 {
		return "", "", "", false
	}
	s := strings.LastIndexByte(topic[:t], '.')
	if s <= 0 || s+1 == t || t+1 == len(topic) {
		return "", "", "", false
	}
	return topic[:s], topic[s+1 : t], topic[t+1:], true
}
