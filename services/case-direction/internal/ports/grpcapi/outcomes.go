package grpcapi

import (
	"bytes"
	"context"
	"encoding/csv"
	"strconv"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	outcomesv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/outcomes/v1"
	"github.com/wijkbrug/wijkbrug/pkg/valid"
	appoutcomes "github.com/wijkbrug/wijkbrug/services/case-direction/internal/app/outcomes"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/domain/outcomes"
	"google.golang.org/genproto/googleapis/api/httpbody"
)

// OutcomeServer implements OutcomeService (issue 17) over the outcome read model.
type OutcomeServer struct {
	outcomesv1.UnimplementedOutcomeServiceServer
	reports *appoutcomes.Reports
}

// NewOutcomeServer returns the server.
func NewOutcomeServer(r *appoutcomes.Reports) *OutcomeServer { return &OutcomeServer{reports: r} }

// figureRequest is what every figure request has (the fields and their formats are the
// proto's rules).
type figureRequest interface {
	GetMunicipalityCode() string
	GetDistrictCode() string
	GetTeamOin() string
	GetFromPeriod() string
	GetToPeriod() string
	GetGranularity() outcomesv1.Granularity
	GetGroupBy() outcomesv1.GroupBy
}

func queryFrom(req figureRequest) outcomes.Query {
	q := outcomes.Query{Scope: outcomes.Scope{Municipality: req.GetMunicipalityCode(), District: req.GetDistrictCode(), Team: req.GetTeamOin()},
		From: req.GetFromPeriod(), To: req.GetToPeriod()}
	if req.GetGranularity() == outcomesv1.Granularity_GRANULARITY_MONTH {
		q.Granularity = outcomes.Month
	}
	switch req.GetGroupBy() {
	case outcomesv1.GroupBy_GROUP_BY_DISTRICT:
		q.GroupBy = outcomes.ByDistrict
	case outcomesv1.GroupBy_GROUP_BY_MUNICIPALITY:
		q.GroupBy = outcomes.ByMunicipality
	}
	return q
}

// checkQuery reports at once what is wrong with the form of both periods and a district
// outside the municipality given with it (the fields' own formats are the proto's rules).
// The periods' order and span are checked with the caller's right to see them
// (Reports.prepare).
func checkQuery(q outcomes.Query) error {
	var v apperr.Validation
	for _, pe := range q.PeriodProblems() {
		v.Add(pe.Field, pe.Msg)
	}
	valid.DistrictOf(&v, "district_code", q.District, q.Municipality)
	return v.Err()
}

func (s *OutcomeServer) figures(ctx context.Context, set appoutcomes.FigureSet, req figureRequest) (*outcomesv1.Figures, error) {
	q := queryFrom(req)
	if err := checkQuery(q); err != nil {
		return nil, err
	}
	tables, err := s.reports.Figures(ctx, set, q)
	if err != nil {
		return nil, err
	}
	return FiguresToProto(tables, s.reports.MinGroup()), nil
}

// GetIntakeFigures returns the intake figures.
func (s *OutcomeServer) GetIntakeFigures(ctx context.Context, req *outcomesv1.GetIntakeFiguresRequest) (*outcomesv1.GetIntakeFiguresResponse, error) {
	f, err := s.figures(ctx, appoutcomes.IntakeSet, req)
	if err != nil {
		return nil, err
	}
	return &outcomesv1.GetIntakeFiguresResponse{Figures: f}, nil
}

// GetCaseFigures returns the case figures.
func (s *OutcomeServer) GetCaseFigures(ctx context.Context, req *outcomesv1.GetCaseFiguresRequest) (*outcomesv1.GetCaseFiguresResponse, error) {
	f, err := s.figures(ctx, appoutcomes.CaseSet, req)
	if err != nil {
		return nil, err
	}
	return &outcomesv1.GetCaseFiguresResponse{Figures: f}, nil
}

// GetZrmChange returns the ZRM change per life domain and the goal results.
func (s *OutcomeServer) GetZrmChange(ctx context.Context, req *outcomesv1.GetZrmChangeRequest) (*outcomesv1.GetZrmChangeResponse, error) {
	f, err := s.figures(ctx, appoutcomes.ZrmSet, req)
	if err != nil {
		return nil, err
	}
	return &outcomesv1.GetZrmChangeResponse{Figures: f}, nil
}

// GetReferralFigures returns the referral figures.
func (s *OutcomeServer) GetReferralFigures(ctx context.Context, req *outcomesv1.GetReferralFiguresRequest) (*outcomesv1.GetReferralFiguresResponse, error) {
	f, err := s.figures(ctx, appoutcomes.ReferralSet, req)
	if err != nil {
		return nil, err
	}
	return &outcomesv1.GetReferralFiguresResponse{Figures: f}, nil
}

// GetAllocationFigures returns the allocation figures.
func (s *OutcomeServer) GetAllocationFigures(ctx context.Context, req *outcomesv1.GetAllocationFiguresRequest) (*outcomesv1.GetAllocationFiguresResponse, error) {
	f, err := s.figures(ctx, appoutcomes.AllocationSet, req)
	if err != nil {
		return nil, err
	}
	return &outcomesv1.GetAllocationFiguresResponse{Figures: f}, nil
}

// GetDecisionFigures returns the decisions within and past the statutory term.
func (s *OutcomeServer) GetDecisionFigures(ctx context.Context, req *outcomesv1.GetDecisionFiguresRequest) (*outcomesv1.GetDecisionFiguresResponse, error) {
	f, err := s.figures(ctx, appoutcomes.DecisionSet, req)
	if err != nil {
		return nil, err
	}
	return &outcomesv1.GetDecisionFiguresResponse{Figures: f}, nil
}

// ExportFigures returns every figure set as CSV: table, period, group, column, count, value,
// suppressed — a suppressed cell has empty count and value.
func (s *OutcomeServer) ExportFigures(ctx context.Context, req *outcomesv1.ExportFiguresRequest) (*httpbody.HttpBody, error) {
	q := queryFrom(req)
	if err := checkQuery(q); err != nil {
		return nil, err
	}
	tables, err := s.reports.Export(ctx, q)
	if err != nil {
		return nil, err
	}
	return &httpbody.HttpBody{ContentType: "text/csv; charset=utf-8", Data: CSV(tables)}, nil
}

// CSV writes tables one line per cell (row totals as column "TOTAL", column totals as group
// "TOTAL").
func CSV(tables []outcomes.Table) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"table", "unit", "period", "group", "column", "count", "value", "suppressed"})
	cell := func(t outcomes.Table, r outcomes.Row, group, column string, c outcomes.Cell) {
		rec := []string{t.Name, t.Unit, r.Period, group, column, "", "", "true"}
		if !c.Suppressed {
			rec[5] = strconv.FormatInt(c.Count, 10)
			if t.Unit != "count" {
				rec[6] = strconv.FormatFloat(c.Value, 'f', -1, 64)
			}
			rec[7] = "false"
		}
		_ = w.Write(rec)
	}
	for _, t := range tables {
		for k, rows := range [][]outcomes.Row{t.Rows, t.Totals} {
			for _, r := range rows {
				group := r.Group
				if k == 1 {
					group = "TOTAL"
				}
				for i, c := range r.Cells {
					cell(t, r, group, t.Columns[i], c)
				}
				if t.Additive {
					cell(t, r, group, "TOTAL", r.Total)
				}
			}
		}
	}
	w.Flush()
	return b.Bytes()
}

// FiguresToProto maps figure tables to the API.
func FiguresToProto(tables []outcomes.Table, minGroup int64) *outcomesv1.Figures {
	out := &outcomesv1.Figures{MinimumGroupSize: int32(minGroup)}
	cell := func(c outcomes.Cell) *outcomesv1.Cell {
		if c.Suppressed {
			return &outcomesv1.Cell{Suppressed: true}
		}
		return &outcomesv1.Cell{Count: c.Count, Value: c.Value}
	}
	rows := func(t outcomes.Table, rs []outcomes.Row) []*outcomesv1.FigureRow {
		var out []*outcomesv1.FigureRow
		for _, r := range rs {
			pr := &outcomesv1.FigureRow{Period: r.Period, Group: r.Group}
			for _, c := range r.Cells {
				pr.Cells = append(pr.Cells, cell(c))
			}
			if t.Additive {
				pr.Total = cell(r.Total)
			}
			out = append(out, pr)
		}
		return out
	}
	for _, t := range tables {
		out.Tables = append(out.Tables, &outcomesv1.FigureTable{Name: t.Name, Columns: t.Columns, Unit: t.Unit, Additive: t.Additive,
			Rows: rows(t, t.Rows), Totals: rows(t, t.Totals)})
	}
	return out
}
