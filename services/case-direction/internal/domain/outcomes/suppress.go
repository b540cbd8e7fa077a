package outcomes

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
//   - complementary: a line with exactly one suppressed number would give it away (the total
//     minus the others, or the sum of the parts), so the smallest other number of that line is
//     suppressed too (a positive one first; a zero only when nothing else is left), and this
//     repeats until no line has exactly one suppressed number.
func (s *lineSystem) suppress(min int64) {
	for i, v := range s.values {
		if v > 0 && v < min {
			s.suppressed[i] = true
		}
	}
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

// derivable returns the suppressed numbers an onlooker can compute from what is shown: each
// line with exactly one unknown number gives it as the line's total minus (or, for the total,
// plus) the shown numbers; a derived number counts as shown for the next round, until nothing
// new follows. After suppress it returns nothing.
func (s *lineSystem) derivable() map[int]int64 {
	known := make([]bool, len(s.values))
	for i := range known {
		known[i] = !s.suppressed[i]
	}
	out := map[int]int64{}
	for progress := true; progress; {
		progress = false
		for _, line := range s.lines {
			unknown, n := 0, 0
			for _, id := range line {
				if !known[id] {
					unknown, n = id, n+1
				}
			}
			if n != 1 {
				continue
			}
			last := line[len(line)-1]
			var sum int64
			for _, id := range line[:len(line)-1] {
				if id != unknown {
					sum += s.values[id]
				}
			}
			v := sum
			if unknown != last {
				v = s.values[last] - sum
			}
			out[unknown] = v
			known[unknown] = true
			progress = true
		}
	}
	return out
}
