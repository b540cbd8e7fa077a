// Package protoconv maps referral domain values to their protobuf form, for the gRPC port and the
// event adapter alike (a port may not import an adapter, so neither owns them).
package protoconv

import (
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/domain"
)

// Reasons types a referral's reason code by the status it belongs to: a decline, cancel or fail
// reason (the others stay unspecified).
func Reasons(status domain.ReferralStatus, reason string) (referralv1.DeclineReason, referralv1.CancelReason, referralv1.FailReason) {
	var (
		d referralv1.DeclineReason
		c referralv1.CancelReason
		f referralv1.FailReason
	)
	switch status {
	case domain.RefDeclined:
		d = protoenum.FromCode[referralv1.DeclineReason](reason)
	case domain.RefCancelled:
		c = protoenum.FromCode[referralv1.CancelReason](reason)
	case domain.RefFailed:
		f = protoenum.FromCode[referralv1.FailReason](reason)
	}
	return d, c, f
}
