package wire

import "math"

// Throwable is a Java exception on the wire. With StackTraceEnabled off (what
// the broker advertises) only Class and Message travel; StackTrace and Cause
// are read and written only when the codec's StackTraceEnabled flag is set.
type Throwable struct {
	Class      string
	Message    string
	StackTrace []StackTraceElement
	Cause      *Throwable
}

// StackTraceElement is one frame of a Java stack trace.
type StackTraceElement struct {
	Class  string
	Method string
	File   string
	Line   int32
}

func (t *Throwable) Error() string {
	if t.Message == "" {
		return t.Class
	}
	return t.Class + ": " + t.Message
}

func (r *reader) throwable() *Throwable {
	if !r.boolean() {
		return nil
	}
	if !r.enter() {
		return nil
	}
	defer r.leave()
	t := &Throwable{Class: r.str(), Message: r.str()}
	if r.stackTrace {
		n := int(int16(r.u16()))
		// Each frame is at least 3 null strings and an int32.
		if n < 0 || n*7 > r.remaining() {
			r.fail("stack trace of %d frames with %d bytes left", n, r.remaining())
			return nil
		}
		if n > 0 {
			t.StackTrace = make([]StackTraceElement, 0, min(n, preallocLimit))
		}
		for i := 0; i < n && r.err == nil; i++ {
			t.StackTrace = append(t.StackTrace, StackTraceElement{Class: r.str(), Method: r.str(), File: r.str(), Line: r.i32()})
		}
		t.Cause = r.throwable()
	}
	if r.err != nil {
		return nil
	}
	return t
}

func (w *writer) throwable(t *Throwable) {
	if t == nil {
		w.u8(0)
		return
	}
	w.u8(1)
	w.str(t.Class)
	w.str(t.Message)
	if !w.stackTrace {
		return
	}
	if len(t.StackTrace) > math.MaxInt16 {
		w.fail("stack trace of %d frames", len(t.StackTrace))
		return
	}
	w.u16(uint16(len(t.StackTrace)))
	for _, f := range t.StackTrace {
		w.str(f.Class)
		w.str(f.Method)
		w.str(f.File)
		w.i32(f.Line)
	}
	w.throwable(t.Cause)
}
