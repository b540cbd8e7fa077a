package grpcapi

import (
	"github.com/wijkbrug/wijkbrug/pkg/authz"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
)

// signalSources are the organisation types that send signals.
var signalSources = []identity.OrgType{
	identity.OrgGP, identity.OrgPracticeNurse, identity.OrgVeiligThuis, identity.OrgHousingCorporation,
	identity.OrgUtility, identity.OrgHealthInsurer, identity.OrgPolice, identity.OrgCreditBank,
	identity.OrgTeam, identity.OrgMunicipality,
}

// mapMaintainers keep the social map and see the recurring themes.
var mapMaintainers = []identity.OrgType{identity.OrgTeam, identity.OrgMunicipality}

// mapReaders may search and export the social map (it holds no personal data).
var mapReaders = []identity.OrgType{
	identity.OrgTeam, identity.OrgMunicipality, identity.OrgGP, identity.OrgPracticeNurse, identity.OrgVeiligThuis,
	identity.OrgHousingCorporation, identity.OrgProvider, identity.OrgIntegrator, identity.OrgService,
}

// referrers refer residents to provisions and record the consents referrals rest on.
var referrers = []identity.OrgType{
	identity.OrgTeam, identity.OrgMunicipality, identity.OrgGP, identity.OrgPracticeNurse, identity.OrgVeiligThuis,
}

// referralParties are referrers and recipients (the organisations of provisions). Which side
// a caller is on, and so which transitions it may make, is decided per referral in the app.
var referralParties = append([]identity.OrgType{identity.OrgProvider}, referrers...)

// Policy is the per-method rule set of the referral service (deny by default). Per-object
// checks (a source sees only its own signals, a party only its own referrals, the side that
// owns a transition) are in the application layer.
var Policy = authz.Policy{
	referralv1.ReferralService_SubmitSignal_FullMethodName:  {OrgTypes: signalSources},
	referralv1.ReferralService_GetSignal_FullMethodName:     {OrgTypes: append([]identity.OrgType{identity.OrgService}, signalSources...)},
	referralv1.ReferralService_ListMySignals_FullMethodName: {OrgTypes: signalSources},
	// Intake reads the signals of a batch of its events at once.
	referralv1.ReferralService_BatchGetSignals_FullMethodName: {OrgTypes: []identity.OrgType{identity.OrgService}},

	referralv1.ReferralService_UpsertProvision_FullMethodName:  {OrgTypes: mapMaintainers},
	referralv1.ReferralService_ImportDirectory_FullMethodName:  {OrgTypes: mapMaintainers},
	referralv1.ReferralService_GetProvision_FullMethodName:     {OrgTypes: mapReaders},
	referralv1.ReferralService_SearchProvisions_FullMethodName: {OrgTypes: mapReaders},
	referralv1.ReferralService_ExportDirectory_FullMethodName:  {OrgTypes: mapReaders},

	referralv1.ReferralService_RecordConsent_FullMethodName:   {OrgTypes: referrers},
	referralv1.ReferralService_GetConsent_FullMethodName:      {OrgTypes: referrers},
	referralv1.ReferralService_WithdrawConsent_FullMethodName: {OrgTypes: referrers},
	referralv1.ReferralService_ListConsents_FullMethodName:    {OrgTypes: referrers},

	referralv1.ReferralService_CreateReferral_FullMethodName: {OrgTypes: referrers},
	referralv1.ReferralService_GetReferral_FullMethodName:    {OrgTypes: append([]identity.OrgType{identity.OrgService}, referralParties...)},
	referralv1.ReferralService_ListReferrals_FullMethodName:  {OrgTypes: referralParties},
	// The history is for the two parties only (no SERVICE): per object in the app.
	referralv1.ReferralService_GetReferralHistory_FullMethodName: {OrgTypes: referralParties},
	referralv1.ReferralService_SendReferral_FullMethodName:       {OrgTypes: referralParties},
	referralv1.ReferralService_AcceptReferral_FullMethodName:     {OrgTypes: referralParties},
	referralv1.ReferralService_DeclineReferral_FullMethodName:    {OrgTypes: referralParties},
	referralv1.ReferralService_StartReferral_FullMethodName:      {OrgTypes: referralParties},
	referralv1.ReferralService_HoldReferral_FullMethodName:       {OrgTypes: referralParties},
	referralv1.ReferralService_ResumeReferral_FullMethodName:     {OrgTypes: referralParties},
	referralv1.ReferralService_CompleteReferral_FullMethodName:   {OrgTypes: referralParties},
	referralv1.ReferralService_FailReferral_FullMethodName:       {OrgTypes: referralParties},
	referralv1.ReferralService_CancelReferral_FullMethodName:     {OrgTypes: referralParties},

	referralv1.ReferralService_GetRecurringThemes_FullMethodName: {OrgTypes: mapMaintainers},
}
