package outcomes

import (
	"math/bits"
	"sort"
)

// DefaultMinGroupSize is the minimum group size below which a figure is not published. CBS
// publishes no small-area figure that rests on fewer than 10 persons or households (Kerncijfers
// wijken en buurten, Beleidsinformatie Jeugd); Wijkbrug follows that by default
// (WIJKBRUG_OUTCOMES_MIN_GROUP_SIZE changes it; docs/services/outcomes.md).
const DefaultMinGroupSize = 10

// Grid is an additive table with its margins: Values[r][c] for r < R, c < C are the cells,
// Values[r][C] the row totals, Values[R][c] the column totals and Values[R][C] the grand
// total. Every row and every column of the grid is a line: its last value is the sum of the
// others.
type Grid struct {
	Values     [][]int64
	Suppressed [][]bool
}

// NewGrid builds the grid of cells (R rows of C counts each), adding the margins.
func NewGrid(cells [][]int64) Grid {
	rows := len(cells)
	cols := 0
	if rows > 0 {
		cols = len(cells[0])
	}
	g := Grid{Values: make([][]int64, rows+1), Suppressed: make([][]bool, rows+1)}
	for r := range rows + 1 {
		g.Values[r] = make([]int64, cols+1)
		g.Suppressed[r] = make([]bool, cols+1)
	}
	for r, row := range cells {
		for c, v := range row {
			g.Values[r][c] = v
			g.Values[r][cols] += v
			g.Values[rows][c] += v
			g.Values[rows][cols] += v
		}
	}
	return g
}

// Suppress applies primary and complementary suppression to g in place (lineSystem.suppress
// over the grid's rows and columns, totals included: each is a line whose last value is the
// sum of the others). It returns the number of suppressed values.
func (g Grid) Suppress(min int64) int {
	s, ids := g.system()
	s.suppress(min)
	n := 0
	for r := range g.Values {
		for c := range g.Values[r] {
			g.Suppressed[r][c] = s.suppressed[ids[r][c]]
			if g.Suppressed[r][c] {
				n++
			}
		}
	}
	return n
}

// Derivable returns the suppressed values of g an onlooker can compute from what is shown
// (lineSystem.derivable). After Suppress it returns nothing.
func (g Grid) Derivable() map[[2]int]int64 {
	s, ids := g.system()
	derived := s.derivable()
	out := map[[2]int]int64{}
	for r := range ids {
		for c, id := range ids[r] {
			if v, ok := derived[id]; ok {
				out[[2]int{r, c}] = v
			}
		}
	}
	return out
}

// system is g as a lineSystem: ids[r][c] is the number of the value at (r, c).
func (g Grid) system() (*lineSystem, [][]int) {
	s := &lineSystem{}
	ids := make([][]int, len(g.Values))
	for r := range g.Values {
		ids[r] = make([]int, len(g.Values[r]))
		for c, v := range g.Values[r] {
			ids[r][c] = s.add(v, g.Suppressed[r][c])
		}
	}
	for _, line := range g.lines() {
		l := make([]int, len(line))
		for i, p := range line {
			l[i] = ids[p[0]][p[1]]
		}
		s.lines = append(s.lines, l)
	}
	return s, ids
}

// lines are the grid's rows and columns as coordinates.
func (g Grid) lines() [][][2]int {
	rows := len(g.Values)
	if rows == 0 {
		return nil
	}
	cols := len(g.Values[0])
	var out [][][2]int
	for r := range rows {
		line := make([][2]int, cols)
		for c := range cols {
			line[c] = [2]int{r, c}
		}
		out = append(out, line)
	}
	for c := range cols {
		line := make([][2]int, rows)
		for r := range rows {
			line[r] = [2]int{r, c}
		}
		out = append(out, line)
	}
	return out
}

// lineSystem is the published numbers of one answer and the lines among them: each line is
// numbers of which the last is the sum of the others (a table's row or column with its total,
// or the same count in two tables: a line of two). Suppression is decided over all lines at
// once, so a number hidden in one table is not given away by another table of the answer.
type lineSystem struct {
	values     []int64
	suppressed []bool
	lines      [][]int
}

// add adds a number and returns its id.
func (s *lineSystem) add(v int64, suppressed bool) int {
	s.values = append(s.values, v)
	s.suppressed = append(s.suppressed, suppressed)
	return len(s.values) - 1
}

// suppress applies primary and complementary suppression:
//   - primary: every number with 0 < value < min is suppressed — a group of fewer than min
//     units is never shown, and a zero reveals nobody;
//   - complementary, by line: a line with exactly one suppressed number would give it away
//     (the total minus the others, or the sum of the parts), so the smallest other number of
//     that line is suppressed too (a positive one first; a zero only when nothing else is
//     left), until no line has exactly one suppressed number;
//   - complementary, by system: an onlooker may also combine lines (a statistic's count is
//     ON_TIME + LATE, the row total is ON_TIME + LATE + NOT_STARTED: together they give
//     NOT_STARTED, though each line has two suppressed numbers). Every suppressed number the
//     shown ones determine through all lines at once (determined) gets the smallest open
//     number of one of its lines suppressed as well, and both steps repeat until none is
//     determined.
//
// Lines of different connected groups never meet, so the outcome for one group (one period
// of one answer) does not depend on which other groups are in the system.
func (s *lineSystem) suppress(min int64) {
	for i, v := range s.values {
		if v > 0 && v < min {
			s.suppressed[i] = true
		}
	}
	linesOf := make([][]int, len(s.values))
	for li, line := range s.lines {
		for _, id := range line {
			linesOf[id] = append(linesOf[id], li)
		}
	}
	for {
		for changed := true; changed; {
			changed = false
			for _, line := range s.lines {
				if s.suppressedIn(line) != 1 {
					continue
				}
				if next, ok := s.smallestOpen(line); ok {
					s.suppressed[next] = true
					changed = true
				}
			}
		}
		det := s.determined()
		if len(det) == 0 {
			return
		}
		progress := false
		for _, id := range det {
			if best, ok := s.nearestOpen(id, linesOf); ok && !s.suppressed[best] {
				s.suppressed[best] = true
				progress = true
			}
		}
		if !progress {
			return // every line of every determined number is hidden whole: cannot happen
		}
	}
}

// nearestOpen is the number to hide so that the suppressed number id gets one more unknown
// partner: the smallest open number of id's own lines, else of the lines one suppressed number
// further, and so on (a statistic's count may be fixed through lines that are all hidden
// around it, by the column totals of the table it is linked to).
func (s *lineSystem) nearestOpen(id int, linesOf [][]int) (int, bool) {
	seenLine := map[int]bool{}
	seenID := map[int]bool{id: true}
	frontier := []int{id}
	for len(frontier) > 0 {
		best, found := 0, false
		var next []int
		for _, u := range frontier {
			for _, li := range linesOf[u] {
				if seenLine[li] {
					continue
				}
				seenLine[li] = true
				if c, ok := s.smallestOpen(s.lines[li]); ok && (!found || s.before(c, best)) {
					best, found = c, true
				}
				for _, v := range s.lines[li] {
					if s.suppressed[v] && !seenID[v] {
						seenID[v] = true
						next = append(next, v)
					}
				}
			}
		}
		if found {
			return best, true
		}
		frontier = next
	}
	return 0, false
}

func (s *lineSystem) suppressedIn(line []int) int {
	n := 0
	for _, id := range line {
		if s.suppressed[id] {
			n++
		}
	}
	return n
}

// smallestOpen is the unsuppressed number of line to suppress next: the smallest positive one,
// else a zero; ties go to the first in the line, so the result is deterministic.
func (s *lineSystem) smallestOpen(line []int) (int, bool) {
	best, found := 0, false
	for _, id := range line {
		if s.suppressed[id] {
			continue
		}
		if !found || s.before(id, best) {
			best, found = id, true
		}
	}
	return best, found
}

// before orders candidates for suppression: positive values before zeros, then the smaller.
func (s *lineSystem) before(a, b int) bool {
	va, vb := s.values[a], s.values[b]
	if (va == 0) != (vb == 0) {
		return vb == 0
	}
	return va < vb
}

// derivable returns the suppressed numbers an onlooker can compute from what is shown, with
// their values: those the shown numbers determine through all lines solved as one system of
// linear equations (determined). After suppress it returns nothing.
func (s *lineSystem) derivable() map[int]int64 {
	out := map[int]int64{}
	for _, id := range s.determined() {
		out[id] = s.values[id]
	}
	return out
}

// prime is the modulus of the elimination in determined: 2^61 − 1. The lines' coefficients
// are 0 and ±1, so the rank over the integers modulo this prime is the rank over the
// rationals unless the prime divides a minor of the system, which for systems of this size
// does not happen in practice; arithmetic modulo a prime is exact, where floating point would
// need a tolerance.
const prime = 1<<61 - 1

func mulMod(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	_, rem := bits.Div64(hi, lo, prime)
	return rem
}

func invMod(a uint64) uint64 { // a^(p-2)
	result, base, e := uint64(1), a, uint64(prime-2)
	for e > 0 {
		if e&1 == 1 {
			result = mulMod(result, base)
		}
		base = mulMod(base, base)
		e >>= 1
	}
	return result
}

// determined returns the suppressed numbers that the shown numbers fix through the lines
// taken together (sorted by id): a suppressed number x is fixed exactly when the unit vector
// of x lies in the row space of the lines restricted to the suppressed numbers — in the
// reduced row echelon form, a row whose only non-zero entry is x's. Each connected group of
// suppressed numbers (linked by lines) is solved on its own.
func (s *lineSystem) determined() []int {
	// Connected groups of suppressed numbers.
	parent := make([]int, len(s.values))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	for _, line := range s.lines {
		first := -1
		for _, id := range line {
			if !s.suppressed[id] {
				continue
			}
			if first < 0 {
				first = id
			} else {
				parent[find(id)] = find(first)
			}
		}
	}
	groupLines := map[int][]int{}
	var roots []int
	for li, line := range s.lines {
		for _, id := range line {
			if s.suppressed[id] {
				r := find(id)
				if groupLines[r] == nil {
					roots = append(roots, r)
				}
				groupLines[r] = append(groupLines[r], li)
				break
			}
		}
	}
	var out []int
	for _, r := range roots {
		out = append(out, s.determinedIn(groupLines[r])...)
	}
	sort.Ints(out)
	return out
}

// determinedIn solves the lines (all with suppressed numbers of one group) by Gauss-Jordan
// elimination modulo prime.
func (s *lineSystem) determinedIn(lines []int) []int {
	col := map[int]int{}
	var ids []int
	for _, li := range lines {
		for _, id := range s.lines[li] {
			if _, ok := col[id]; s.suppressed[id] && !ok {
				col[id] = len(ids)
				ids = append(ids, id)
			}
		}
	}
	n := len(ids)
	m := make([][]uint64, 0, len(lines))
	for _, li := range lines {
		row := make([]uint64, n)
		line := s.lines[li]
		for k, id := range line {
			if !s.suppressed[id] {
				continue
			}
			// The last number is the sum of the others: parts − sum = 0.
			if k == len(line)-1 {
				row[col[id]] = (row[col[id]] + prime - 1) % prime
			} else {
				row[col[id]] = (row[col[id]] + 1) % prime
			}
		}
		m = append(m, row)
	}
	var pivots []int // pivots[r] is the column of row r's pivot
	r := 0
	for c := 0; c < n && r < len(m); c++ {
		p := -1
		for i := r; i < len(m); i++ {
			if m[i][c] != 0 {
				p = i
				break
			}
		}
		if p < 0 {
			continue
		}
		m[r], m[p] = m[p], m[r]
		inv := invMod(m[r][c])
		for j := c; j < n; j++ {
			m[r][j] = mulMod(m[r][j], inv)
		}
		for i := range m {
			if i == r || m[i][c] == 0 {
				continue
			}
			f := m[i][c]
			for j := c; j < n; j++ {
				if m[r][j] != 0 {
					m[i][j] = (m[i][j] + prime - mulMod(f, m[r][j])) % prime
				}
			}
		}
		pivots = append(pivots, c)
		r++
	}
	var out []int
	for i, c := range pivots {
		alone := true
		for j := c + 1; j < n; j++ {
			if m[i][j] != 0 {
				alone = false
				break
			}
		}
		if alone {
			out = append(out, ids[c])
		}
	}
	return out
}
