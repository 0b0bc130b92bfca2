package preview

import "github.com/quire-print/quire/request"

// sampleCertificate fills every box with made-up details, so content
// designers see each box in use. The date of loss is partial, as parents
// often give it. The reference says what the document is.
func sampleCertificate(template string) *request.Certificate {
	return &request.Certificate{
		Template:        template,
		Reference:       "SPECIMEN-000000",
		DateOfIssue:     "2025-03-04",
		ParentName:      "Alex Morgan",
		OtherParentName: "Sam Morgan",
		BabyName:        "Robin",
		Sex:             request.SexFemale,
		DateOfLoss:      "2024-11",
		PlaceOfLoss:     "Canterbury, Kent",
	}
}

// sampleEnvelope is the envelope a sample letter is laid out for: one
// made-up recipient and the sample certificate, in the letter's language.
func sampleEnvelope(template, language, format string) *request.Envelope {
	if language == request.LanguageEnglish {
		language = "" // as a request is normalised
	}
	return &request.Envelope{
		SchemaVersion: request.SchemaVersion,
		EnvelopeID:    "specimen",
		Language:      language,
		Recipient: request.Recipient{
			Name:    "Alex Morgan",
			Address: []string{"1 Sample Street", "Canterbury", "CT1 1AA"},
		},
		Letter:       request.Letter{Template: template, Format: format},
		Certificates: []request.Certificate{*sampleCertificate("")},
	}
}
