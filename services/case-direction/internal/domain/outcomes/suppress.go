package outcomes

import "sort"

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

// Suppress applies primary and complementary suppression to g in place:
//   - primary: every value (cell or total) with 0 < value < min is suppressed — a group of
//     fewer than min units is never shown, and a zero reveals nobody;
//   - complementary: a line (row or column, totals included) with exactly one suppressed value
//     would give it away as total minus the others, so the smallest other value of that line is
//     suppressed too (a positive one first; a zero only when nothing else is left), and this
//     repeats until no line has exactly one suppressed value.
//
// It returns the number of suppressed values.
func (g Grid) Suppress(min int64) int {
	for r := range g.Values {
		for c, v := range g.Values[r] {
			if v > 0 && v < min {
				g.Suppressed[r][c] = true
			}
		}
	}
	for changed := true; changed; {
		changed = false
		for _, line := range g.lines() {
			if g.suppressedIn(line) != 1 {
				continue
			}
			if next, ok := g.smallestOpen(line); ok {
				g.Suppressed[next[0]][next[1]] = true
				changed = true
			}
		}
	}
	n := 0
	for r := range g.Suppressed {
		for _, s := range g.Suppressed[r] {
			if s {
				n++
			}
		}
	}
	return n
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

func (g Grid) suppressedIn(line [][2]int) int {
	n := 0
	for _, p := range line {
		if g.Suppressed[p[0]][p[1]] {
			n++
		}
	}
	return n
}

// smallestOpen is the unsuppressed value of line to suppress next: the smallest positive one,
// else a zero; ties go to the first in the line, so the result is deterministic.
func (g Grid) smallestOpen(line [][2]int) ([2]int, bool) {
	open := make([][2]int, 0, len(line))
	for _, p := range line {
		if !g.Suppressed[p[0]][p[1]] {
			open = append(open, p)
		}
	}
	if len(open) == 0 {
		return [2]int{}, false
	}
	sort.SliceStable(open, func(i, j int) bool {
		vi, vj := g.Values[open[i][0]][open[i][1]], g.Values[open[j][0]][open[j][1]]
		if (vi == 0) != (vj == 0) {
			return vj == 0 // positive values first
		}
		return vi < vj
	})
	return open[0], true
}

// Derivable returns the suppressed values an onlooker can compute from what is shown: each
// line with exactly one suppressed value gives it as the line's total minus (or, for the total,
// plus) the shown values; a derived value counts as shown for the next round, until nothing new
// follows. After Suppress it returns nothing.
func (g Grid) Derivable() map[[2]int]int64 {
	known := make([][]bool, len(g.Values))
	for r := range g.Values {
		known[r] = make([]bool, len(g.Values[r]))
		for c := range g.Values[r] {
			known[r][c] = !g.Suppressed[r][c]
		}
	}
	out := map[[2]int]int64{}
	for progress := true; progress; {
		progress = false
		for _, line := range g.lines() {
			var unknown [][2]int
			for _, p := range line {
				if !known[p[0]][p[1]] {
					unknown = append(unknown, p)
				}
			}
			if len(unknown) != 1 {
				continue
			}
			p := unknown[0]
			last := line[len(line)-1]
			var sum int64
			for _, q := range line[:len(line)-1] {
				if q != p {
					sum += g.Values[q[0]][q[1]]
				}
			}
			v := sum
			if p != last {
				v = g.Values[last[0]][last[1]] - sum
			}
			out[p] = v
			known[p[0]][p[1]] = true
			progress = true
		}
	}
	return out
}
